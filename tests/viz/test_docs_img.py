"""The cell pictures in docs/img are what `factorspace render` draws today.

scripts/render_docs_img.py writes them; this redraws them and compares what each shows (nodes,
edges with their labels and colours, legend, printed width and label size), not the bytes: the
coordinates differ between graphviz versions.
"""

from __future__ import annotations

import runpy
import shutil
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import ROOT
from tests.viz.drawn import drawn_edges, label_sizes, legend_colors, node_texts, width_in

SCRIPT = ROOT / "scripts" / "render_docs_img.py"
IMG = ROOT / "docs" / "img"
STALE = "docs/img is stale: run `python scripts/render_docs_img.py`"


def shown(svg: ET.Element) -> dict:
    return {
        "nodes": node_texts(svg),
        "edges": drawn_edges(svg),
        "legend": legend_colors(svg),
        "width": round(width_in(svg), 1),
        "label_pt": round(min(label_sizes(svg)), 0),
    }


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")
def test_docs_pictures_are_up_to_date(tmp_path):
    fresh = runpy.run_path(str(SCRIPT))["render_all"](tmp_path)
    assert sorted(p.name for p in fresh) == sorted(p.name for p in IMG.glob("*.svg")), STALE
    for path in fresh:
        committed = ET.parse(IMG / path.name).getroot()
        assert shown(ET.parse(path).getroot()) == shown(committed), f"{path.name}: {STALE}"


def test_the_docs_show_the_pictures():
    pages = "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    assert "img/quickstart_7in_normal.svg" in pages and "img/darts_v2_3.3in_normal.svg" in pages
