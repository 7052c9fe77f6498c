"""Genotypes drawn side by side: one picture, a row per cell, a column per genotype (the
planted-architecture benchmark's planted beside found).

Each cell is drawn by :func:`~factorspace.viz.render.render_genotype` (PNG) and the drawings are
laid out with matplotlib, each under its title.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.image import imread

from factorspace.genotype import Genotype
from factorspace.run.atomic import atomic_write
from factorspace.viz.render import render_genotype

TITLE_INCHES = 0.35  # room above each drawing for its title


def draw_side_by_side(
    genotypes: Mapping[str, Genotype], cells: Sequence[str], path: Path | str, *, dpi: int = 150
) -> Path:
    """Write ``path`` (a PNG): a row per cell in ``cells``, a column per genotype, each drawing
    titled ``"<name>, <cell> cell"`` (``genotypes``: title name -> genotype, in column order).

    Needs graphviz's ``dot`` (:func:`render_genotype` draws each cell).
    """
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        images = {
            name: [
                imread(p)
                for p in render_genotype(
                    genotype, Path(tmp) / f"{i}.png", fmt="png", dpi=dpi, cells=cells
                )
            ]
            for i, (name, genotype) in enumerate(genotypes.items())
        }
    widths = [max(im.shape[1] for im in column) for column in images.values()]
    heights = [max(column[r].shape[0] for column in images.values()) for r in range(len(cells))]
    size = (sum(widths) / dpi + 0.3, sum(heights) / dpi + TITLE_INCHES * len(cells) + 0.3)
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(
        len(cells),
        len(images),
        squeeze=False,
        gridspec_kw={"width_ratios": widths, "height_ratios": heights},
    )
    for r, cell in enumerate(cells):
        for c, (name, column) in enumerate(images.items()):
            axes[r][c].imshow(column[r])
            axes[r][c].set_axis_off()
            axes[r][c].set_title(f"{name}, {cell} cell", fontsize=10)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))
    return path
