"""Redraw the cell pictures the docs show (docs/img/*.svg), as `factorspace render` draws them.

    python scripts/render_docs_img.py               # rewrite docs/img
    python scripts/render_docs_img.py --png DIR     # also PNGs at 300 dpi in DIR, to look at

Run it after changing how cells are drawn; tests/viz/test_docs_img.py fails until you do (it
compares what each picture shows: nodes, edges, labels, colours, legend, width).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from factorspace.genotype import resolve_genotype
from factorspace.viz.render import RenderNotice, render_genotype

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
QUICKSTART = ROOT / "docs" / "examples" / "quickstart_genotype.json"  # a 2-epoch quick start run

# (file stem, genotype, print width in inches or None for the natural size): each writes
# STEM_normal.svg and STEM_reduce.svg. 3.3 in is one column of a two-column paper, 7 in a page.
PICTURES = (
    ("darts_v2", "darts_v2", None),
    ("darts_v2_3.3in", "darts_v2", 3.3),
    ("darts_v2_7in", "darts_v2", 7.0),
    ("pc_darts_imagenet_3.3in", "pc_darts_imagenet", 3.3),  # deep cells: top to bottom
    ("quickstart_3.3in", str(QUICKSTART), 3.3),
    ("quickstart_7in", str(QUICKSTART), 7.0),
)


def render_all(out: Path, fmt: str = "svg") -> list[Path]:
    """Draw every picture of :data:`PICTURES` into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", RenderNotice)  # a docs picture must be legible as it is
        for stem, genotype, width in PICTURES:
            g = resolve_genotype(genotype)
            written += render_genotype(g, out / f"{stem}.{fmt}", fmt=fmt, width=width)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, help="also write PNGs into this folder")
    args = parser.parse_args()
    for path in render_all(IMG) + (render_all(args.png, "png") if args.png else []):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
