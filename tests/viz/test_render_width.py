"""Cell pictures for a paper column: `--width` scales the drawing, labels stay legible and attached."""

from __future__ import annotations

import re
import shutil
import warnings
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.genotype import resolve_genotype
from factorspace.viz.render import (
    MAX_LABEL_PT,
    MIN_LABEL_PT,
    SmallLabelsWarning,
    cell_graph,
    fit_width,
    render_genotype,
)
from tests.retrain.conftest import MIXED
from tests.viz.drawn import label_sizes, width_in

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")
SVG = "{http://www.w3.org/2000/svg}"
COLUMN = 3.3  # inches: one column of a two-column paper
PAGE = 7.0  # and the full width of a page


def printed(svg: ET.Element) -> tuple[float, list[float]]:
    """The drawing's width in inches and each edge label's printed size in points."""
    return width_in(svg), label_sizes(svg)


@needs_dot
@pytest.mark.parametrize(("genotype", "cell"), [("darts_v2", "normal"), ("darts_v2", "reduce")])
def test_a_darts_cell_at_one_column_prints_its_labels_at_7_pt(genotype, cell):
    fitted = fit_width(resolve_genotype(genotype), cell, COLUMN)
    width, label_sizes = printed(ET.fromstring(fitted.graph.pipe(format="svg")))
    assert width == pytest.approx(COLUMN, abs=1 / 72)
    assert min(label_sizes) >= MIN_LABEL_PT - 0.05  # svg writes the scale with two decimals
    assert min(label_sizes) == pytest.approx(fitted.label_pt, abs=0.05)


@needs_dot
def test_a_wide_cell_is_laid_out_again_where_left_to_right_is_too_small():
    natural = float(cell_graph(MIXED, "normal").pipe(format="plain").split()[2])
    assert 11 * COLUMN / natural < MIN_LABEL_PT  # left to right, its labels print at ~6 pt
    fitted = fit_width(MIXED, "normal", COLUMN)
    assert fitted.label_pt >= MIN_LABEL_PT
    assert min(printed(ET.fromstring(fitted.graph.pipe(format="svg")))[1]) >= MIN_LABEL_PT - 0.05


@needs_dot
def test_too_narrow_a_width_warns_with_the_width_that_fits(tmp_path):
    genotype = resolve_genotype("darts_v2")
    with pytest.warns(SmallLabelsWarning, match=r"normal cell's labels print at [\d.]+ pt") as w:
        render_genotype(genotype, tmp_path / "d.svg", fmt="svg", cells=["normal"], width=2.0)
    legible = float(re.search(r"--width ([\d.]+) keeps them", str(w[0].message)).group(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallLabelsWarning)
        (path,) = render_genotype(
            genotype, tmp_path / "d.svg", fmt="svg", cells=["normal"], width=legible
        )
    assert min(printed(ET.parse(path).getroot())[1]) >= MIN_LABEL_PT - 0.05


@needs_dot
@pytest.mark.parametrize("genotype", ["darts_v2", "pc_darts_cifar"])
def test_a_small_cell_at_full_page_width_is_not_blown_up(genotype):
    """At 7 in, a four-node cell would print its labels at 14 pt: it is padded instead."""
    for cell in ("normal", "reduce"):
        fitted = fit_width(resolve_genotype(genotype), cell, PAGE)
        width, sizes = printed(ET.fromstring(fitted.graph.pipe(format="svg")))
        assert width == pytest.approx(PAGE, abs=1 / 72)
        assert MIN_LABEL_PT - 0.05 <= min(sizes) <= max(sizes) <= MAX_LABEL_PT + 0.05


@needs_dot
def test_cli_width_writes_a_drawing_that_wide(tmp_path):
    result = CliRunner().invoke(
        app, ["render", "darts_v2", "--width", str(COLUMN), "-o", str(tmp_path / "d.svg")]
    )
    assert result.exit_code == 0, result.output
    for cell in ("normal", "reduce"):
        width, sizes = printed(ET.parse(tmp_path / f"d_{cell}.svg").getroot())
        assert width == pytest.approx(COLUMN, abs=1 / 72)
        assert min(sizes) >= MIN_LABEL_PT - 0.05


@needs_dot
def test_cli_width_too_narrow_prints_one_warning_line(tmp_path):
    result = CliRunner().invoke(
        app,
        ["render", "darts_v2", "--cell", "normal", "--width", "2", "-o", str(tmp_path / "d.pdf")],
    )
    assert result.exit_code == 0
    assert re.search(
        r"warning: the normal cell's labels print at [\d.]+ pt at 2 in wide", result.output
    )
    assert "Warning" not in result.output  # no Python warning format


def test_without_dot_the_width_is_in_the_source(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    (path,) = render_genotype(MIXED, tmp_path / "m.gv", fmt="gv", cells=["normal"], width=COLUMN)
    assert path.suffix == ".gv"
    assert 'size="3.3,330!"' in path.read_text()  # dot scales it to the column when run
