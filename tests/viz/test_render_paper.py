"""Cell drawings a paper can print: labels on their edges and crossed by nothing, one colour per
activation (none black), DARTS's node names, any cell family drawn from a generic description."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

import factorspace.ops  # noqa: F401  (registers the built-in activations)
from factorspace.genotype import Genotype, GenotypeCell, GenotypeEdge, resolve_genotype
from factorspace.genotype.zoo import list_genotypes
from factorspace.registry import ACTIVATIONS
from factorspace.viz import cell as cells
from factorspace.viz.cell import CellDrawing, CellEdge, CellNode, darts_cell
from factorspace.viz.palette import ACTIVATION_COLORS, NO_ACTIVATION, display_name
from factorspace.viz.render import cell_graph, fit_width, render_genotype
from tests.conftest import ROOT
from tests.retrain.conftest import MIXED
from tests.viz.drawn import crossings, drawn_edges, legend_colors, node_texts, svg_of

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")
BLACK = "#000000"
QUICKSTART = ROOT / "docs" / "examples" / "quickstart_genotype.json"  # a searched A-DARTS cell
GENOTYPES = [*list_genotypes(), str(QUICKSTART)]
BUILT_IN = sorted(
    name
    for name in ACTIVATIONS
    if ACTIVATIONS.get(name).factory.__module__.startswith("factorspace.")
)


def every_activation() -> Genotype:
    """A cell with one convolution per built-in activation, and a pooling edge."""
    pairs = [(s, t) for t in range(2, 8) for s in range(t)][: len(BUILT_IN)]
    edges = [
        GenotypeEdge(source=s, target=t, op="sep_conv_3x3", inputs={"activation": a})
        for (s, t), a in zip(pairs, BUILT_IN, strict=True)
    ]
    edges.append(GenotypeEdge(source=0, target=7, op="max_pool_3x3"))
    cell = GenotypeCell(edges=edges, concat=[7])
    return Genotype(name="every activation", normal=cell, reduce=cell)


def test_no_leader_lines_and_every_edge_has_its_label_node():
    for name in GENOTYPES:
        genotype = resolve_genotype(name)
        for cell in ("normal", "reduce"):
            source = cell_graph(genotype, cell).source
            assert "decorate" not in source
            edges = getattr(genotype, cell).edges
            assert source.count("shape=plaintext") == len(edges), name


@needs_dot
def test_each_activation_is_drawn_in_its_palette_colour_none_black():
    svg = svg_of(cell_graph(every_activation()))
    drawn = [e for e in drawn_edges(svg) if e[1] != "c_{k}"]
    by_label = {label.split(" · ")[-1]: stroke for _, _, label, stroke in drawn}
    assert by_label == {
        **{display_name(a): ACTIVATION_COLORS[a].upper() for a in BUILT_IN},
        "max_pool_3x3": NO_ACTIVATION.upper(),
    }
    assert BLACK not in by_label.values()
    legend = legend_colors(svg)
    assert legend == {
        **{display_name(a): ACTIVATION_COLORS[a].upper() for a in BUILT_IN},
        "no activation": NO_ACTIVATION.upper(),
    }


@needs_dot
@pytest.mark.parametrize("cell", ["normal", "reduce"])
def test_nodes_are_named_as_in_the_darts_figures(cell):
    """Inputs c_{k-2}, c_{k-1} (k-2 a subscript), intermediate nodes 0.., output c_{k}."""
    texts = node_texts(svg_of(cell_graph(resolve_genotype("darts_v2"), cell)))
    nodes = {name: text for name, text in texts.items() if not name.startswith("label")}
    assert nodes == {
        "c_{k-2}": ["c", "k-2"],
        "c_{k-1}": ["c", "k-1"],
        **{str(n): [str(n)] for n in range(4)},
        "c_{k}": ["c", "k"],
    }


@needs_dot
def test_identical_operators_each_label_their_own_edge():
    """darts_v2's reduce cell: five max_pool_3x3 and three skip_connect edges, each label on
    exactly one edge, with that edge's ends."""
    genotype = resolve_genotype("darts_v2")
    drawn = [e[:3] for e in drawn_edges(svg_of(cell_graph(genotype, "reduce")))]
    expected = [(e.source, e.target, e.op) for e in genotype.reduce.edges]
    names = {0: "c_{k-2}", 1: "c_{k-1}"}
    assert sorted(drawn) == sorted(
        [(names.get(s, str(s - 2)), names.get(t, str(t - 2)), op) for s, t, op in expected]
        + [(str(n - 2), "c_{k}", "") for n in genotype.reduce.concat]
    )


@needs_dot
@pytest.mark.parametrize("name", GENOTYPES, ids=[*list_genotypes(), "quickstart_run"])
def test_no_edge_crosses_a_label_or_node_and_nothing_overlaps(name):
    """Every zoo cell and a searched one, as drawn by default and for a column and a page."""
    genotype = resolve_genotype(name)
    for cell in ("normal", "reduce"):
        graphs = [cell_graph(genotype, cell)]
        graphs += [fit_width(genotype, cell, width).graph for width in (3.3, 7.0)]
        for g in graphs:
            assert crossings(g) == [], f"{name} {cell} {g.graph_attr.get('size')}"


@needs_dot
def test_edges_with_two_activations_and_arguments_are_drawn_and_labelled():
    drawn = drawn_edges(svg_of(cell_graph(MIXED)))
    gated = [e for e in drawn if e[2].startswith("conv")]
    assert gated == [
        (
            "c_{k-1}",
            "1",
            "conv · k=1 · LeakyReLU · ReLU6",
            f"{ACTIVATION_COLORS['leaky_relu']}:{ACTIVATION_COLORS['relu6']}".upper(),
        )
    ]
    assert crossings(cell_graph(MIXED)) == []


def chain_cell(genotype: Genotype, cell: str = "normal") -> CellDrawing:
    """A family without c_{k-2} or concat (as NAS-Bench-201's): node 0 in, node 2 out."""
    return CellDrawing(
        nodes=(CellNode("0", "input"), CellNode("1", "intermediate"), CellNode("2", "output")),
        edges=(
            CellEdge("0", "1", ("nor_conv_3x3",), (ACTIVATION_COLORS["relu"],)),
            CellEdge("1", "2", ("skip_connect",)),
            CellEdge("0", "2", ("avg_pool_3x3",)),
        ),
        legend={"no activation": NO_ACTIVATION},
    )


@needs_dot
def test_another_cell_family_is_one_small_function(monkeypatch, tmp_path):
    monkeypatch.setitem(cells.FAMILIES, "chain", chain_cell)
    (path,) = render_genotype(
        MIXED, tmp_path / "chain.svg", fmt="svg", cells=["normal"], width=3.3, family="chain"
    )
    assert [e[:3] for e in drawn_edges(ET.parse(path).getroot())][0] == ("0", "1", "nor_conv_3x3")
    svg = svg_of(cell_graph(MIXED, family="chain"))
    assert drawn_edges(svg) == [
        ("0", "1", "nor_conv_3x3", ACTIVATION_COLORS["relu"].upper()),
        ("0", "2", "avg_pool_3x3", NO_ACTIVATION.upper()),
        ("1", "2", "skip_connect", NO_ACTIVATION.upper()),
    ]
    assert "c_{k}" not in node_texts(svg)
    with pytest.raises(ValueError, match="no drawing for cell family 'nb999'"):
        cell_graph(MIXED, family="nb999")


def test_the_darts_family_names_its_nodes_and_legend():
    drawing = darts_cell(resolve_genotype("darts_v2"), "normal")
    assert [(n.name, n.role) for n in drawing.nodes] == [
        ("c_{k-2}", "input"),
        ("c_{k-1}", "input"),
        *((str(n), "intermediate") for n in range(4)),
        ("c_{k}", "output"),
    ]
    assert drawing.legend == {"ReLU": ACTIVATION_COLORS["relu"], "no activation": NO_ACTIVATION}
    assert "c_{k-2}" in drawing.numbering and "0, 1" in drawing.numbering
