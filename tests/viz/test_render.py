"""Drawing cells: every edge, its label and colour, the legend, the fallback without `dot`, the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import graphviz
import pytest
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.genotype import Genotype, GenotypeCell, GenotypeEdge
from factorspace.viz.palette import ACTIVATION_COLORS, NO_ACTIVATION
from factorspace.viz.render import (
    GraphvizMissingWarning,
    cell_graph,
    edge_label,
    render_genotype,
)
from tests.viz import drawn
from tests.viz.drawn import drawn_edges, legend_of

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="graphviz's dot is not installed"
)
SVG = "{http://www.w3.org/2000/svg}"
NAMES = {0: "c_{k-2}", 1: "c_{k-1}"}  # nodes 2.. are drawn 0..N-1
PARAMETERIZED = ("sep_conv", "dil_conv", "conv")


def darts_cell(pairs: list[tuple[str, int]]) -> GenotypeCell:
    """A DARTS cell: pair k feeds node 2 + k // 2; parameterized ops use ReLU."""
    edges = [
        GenotypeEdge(
            source=source,
            target=2 + k // 2,
            op=op,
            inputs={"activation": "relu"} if op.startswith(PARAMETERIZED) else {},
        )
        for k, (op, source) in enumerate(pairs)
    ]
    return GenotypeCell(edges=edges, concat=[2, 3, 4, 5])


DARTS_V2_PAIRS = {
    "normal": [
        ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2),
    ],
    "reduce": [
        ("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
        ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1),
    ],
}  # fmt: skip
DARTS_V2 = Genotype(
    name="DARTS_V2",
    normal=darts_cell(DARTS_V2_PAIRS["normal"]),
    reduce=darts_cell(DARTS_V2_PAIRS["reduce"]),
)


def edge(source, target, op, activation=None, **arguments) -> GenotypeEdge:
    inputs = {"activation": activation} if activation else {}
    return GenotypeEdge(source=source, target=target, op=op, inputs=inputs, arguments=arguments)


ADARTS = Genotype(
    name="A-DARTS example",
    normal=GenotypeCell(
        edges=[
            edge(0, 2, "sep_conv_3x3", "selu"),
            edge(1, 2, "sep_conv", "prelu", kernel_size=5),
            edge(0, 3, "dil_conv_3x3", "selu"),
            edge(2, 3, "skip_connect"),
        ],
        concat=[2, 3],
    ),
    reduce=GenotypeCell(
        edges=[edge(0, 2, "max_pool_3x3"), edge(1, 2, "conv", "swish", kernel_size=7)],
        concat=[2],
    ),
)


def svg_of(genotype: Genotype, cell: str) -> ET.Element:
    return drawn.svg_of(cell_graph(genotype, cell))


def name(node: int) -> str:
    return NAMES.get(node, str(node - 2))


@needs_dot
@pytest.mark.parametrize("cell", ["normal", "reduce"])
def test_darts_v2_every_edge_labelled_and_every_concat_node_to_output(cell):
    expected = []
    for k, (op, source) in enumerate(DARTS_V2_PAIRS[cell]):
        relu = op.startswith(PARAMETERIZED)
        color = ACTIVATION_COLORS["relu"] if relu else NO_ACTIVATION
        expected.append((name(source), name(2 + k // 2), op + " · ReLU" * relu, color))
    drawn = drawn_edges(svg_of(DARTS_V2, cell))
    assert [e for e in drawn if e[1] != "c_{k}"] == sorted(expected)
    assert [(s, label) for s, t, label, _ in drawn if t == "c_{k}"] == [(n, "") for n in "0123"]


@needs_dot
def test_activation_and_argument_labels_and_colours():
    drawn = drawn_edges(svg_of(ADARTS, "normal"))
    assert [e for e in drawn if e[1] != "c_{k}"] == sorted(
        [
            ("c_{k-2}", "0", "sep_conv_3x3 · SELU", ACTIVATION_COLORS["selu"]),
            ("c_{k-1}", "0", "sep_conv · k=5 · PReLU", ACTIVATION_COLORS["prelu"]),
            ("c_{k-2}", "1", "dil_conv_3x3 · SELU", ACTIVATION_COLORS["selu"]),
            ("0", "1", "skip_connect", NO_ACTIVATION),
        ]
    )
    assert edge_label(ADARTS.reduce.edges[1]) == "conv · k=7 · Swish"


@needs_dot
@pytest.mark.parametrize(
    "genotype, cell, legend",
    [
        (DARTS_V2, "normal", ["ReLU", "no activation"]),
        (DARTS_V2, "reduce", ["no activation"]),  # pooling and skip only
        (ADARTS, "normal", ["PReLU", "SELU", "no activation"]),
        (ADARTS, "reduce", ["Swish", "no activation"]),
        (
            Genotype(
                name="s",
                normal=darts_cell([("sep_conv_3x3", 0), ("sep_conv_3x3", 1)]),
                reduce=darts_cell([]),
            ),
            "normal",
            ["ReLU"],
        ),  # no grey edge: no grey entry
    ],
)
def test_legend_lists_exactly_the_activations_used(genotype, cell, legend):
    assert legend_of(svg_of(genotype, cell)) == legend


@needs_dot
def test_graph_is_untitled_by_default_and_takes_a_label():
    assert "Normal cell" not in legend_of(svg_of(DARTS_V2, "normal"))
    titled = drawn.svg_of(cell_graph(DARTS_V2, label="Normal cell"))
    assert legend_of(titled)[0] == "Normal cell"  # above the legend


@needs_dot
@pytest.mark.parametrize("fmt", ["pdf", "svg", "png", "gv"])
def test_render_writes_one_file_per_cell_and_nothing_else(tmp_path, fmt):
    paths = render_genotype(ADARTS, tmp_path / "fig.pdf", fmt=fmt)
    assert paths == [tmp_path / f"fig_normal.{fmt}", tmp_path / f"fig_reduce.{fmt}"]
    assert sorted(os.listdir(tmp_path)) == [f"fig_normal.{fmt}", f"fig_reduce.{fmt}"]  # no temp
    assert all(p.stat().st_size > 0 for p in paths)


def _no_dot(monkeypatch):
    monkeypatch.setattr("factorspace.viz.render.shutil.which", lambda _: None)


def _dot_fails(monkeypatch):
    def pipe(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr("factorspace.viz.render.shutil.which", lambda _: "/usr/bin/dot")
    monkeypatch.setattr(graphviz.Digraph, "pipe", pipe)


@pytest.mark.parametrize("break_dot", [_no_dot, _dot_fails])
def test_without_dot_writes_the_source_and_says_how_to_finish(tmp_path, monkeypatch, break_dot):
    break_dot(monkeypatch)
    with pytest.warns(GraphvizMissingWarning) as caught:
        paths = render_genotype(DARTS_V2, tmp_path / "fig.pdf", cells=["normal"])
    gv = tmp_path / "fig_normal.gv"
    assert paths == [gv]
    assert gv.read_text().startswith("digraph")
    message = str(caught[0].message)
    assert f"wrote {gv}" in message and "apt-get install graphviz" in message
    assert f"dot -Tpdf {gv} -o {tmp_path / 'fig_normal.pdf'}" in message


def test_cli_without_dot_prints_the_install_hint(tmp_path, monkeypatch):
    _no_dot(monkeypatch)
    result = CliRunner().invoke(app, ["render", str(save(tmp_path)), "-o", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    assert "brew install graphviz" in result.output
    assert (tmp_path / "f_normal.gv").is_file() and (tmp_path / "f_reduce.gv").is_file()


def save(tmp_path, genotype: Genotype = ADARTS):
    path = tmp_path / "genotype.json"
    path.write_text(genotype.model_dump_json())
    return path


@needs_dot
def test_cli_writes_the_cells(tmp_path):
    result = CliRunner().invoke(
        app, ["render", str(save(tmp_path)), "-o", str(tmp_path / "fig.svg")]
    )
    assert result.exit_code == 0, result.output
    for cell in ("normal", "reduce"):  # the format comes from -o's suffix
        assert ET.parse(tmp_path / f"fig_{cell}.svg").getroot().tag == f"{SVG}svg"


@needs_dot
def test_cli_default_output_is_named_after_the_genotype(tmp_path, monkeypatch):
    genotype = save(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["render", str(genotype), "--cell", "reduce"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "A-DARTS_example_cells_reduce.pdf").read_bytes().startswith(b"%PDF")
    assert not (tmp_path / "A-DARTS_example_cells_normal.pdf").exists()


def test_cli_bad_genotype_exits_2_without_traceback(tmp_path):
    result = CliRunner().invoke(app, ["render", str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert "missing.json" in result.output and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit(2), not an error escaping


def test_importing_never_needs_dot():
    env = {**os.environ, "PATH": ""}
    code = "import factorspace, factorspace.viz.render, factorspace.cli"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
