"""Draw a genotype's cells as the DARTS papers do, with each edge's activation and arguments.

Inputs c_{k-2}, c_{k-1} on the left, intermediate nodes 0..N-1 in the middle, the output c_{k}
on the right; each kept edge is labelled ``operator · arguments`` over its activation, the label
in the middle of the edge, and coloured by its activation, with a legend under the cell. What is
drawn comes from :mod:`factorspace.viz.cell`, laid out by :mod:`factorspace.viz.layout`; this
module writes the files. :func:`fit_width` lays a cell out for a print width (3.3 in: one
column of a two-column paper) with every label at least :data:`MIN_LABEL_PT` points.

Building a graph needs only the ``graphviz`` Python package. Rendering needs graphviz's ``dot``
program; without it :func:`render_genotype` writes the ``.gv`` source and warns how to finish.
"""

from __future__ import annotations

import math
import re
import shutil
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import graphviz

from factorspace.genotype import Genotype, GenotypeEdge
from factorspace.run.atomic import atomic_write_bytes
from factorspace.viz.cell import CELLS, SEP, label_lines
from factorspace.viz.layout import (  # noqa: F401  (re-exported: built here before the split)
    FONT_SIZES,
    GRAPH_ATTR,
    cell_graph,
    drawing_graph,
)
from factorspace.viz.palette import (  # noqa: F401  (re-exported: these lived here before palette)
    ACTIVATION_COLORS,
    DISPLAY_NAMES,
    activation_colors,
)

FORMATS = ("pdf", "svg", "png", "gv")

MIN_LABEL_PT = 7.0  # the smallest print size journals accept for figure text (Nature, IEEE)
MAX_LABEL_PT = 9.0  # and no larger than a caption: a small cell is not blown up to fill a page
FONT_SCALES = (1.0, 1.25, 1.6, 2.0)  # what fit_width tries: larger fonts widen a drawing less


class RenderNotice(UserWarning):
    """Something the user of a drawing should hear about (the CLI prints it as one line)."""


class GraphvizMissingWarning(RenderNotice):
    """graphviz's ``dot`` is not installed: the ``.gv`` source was written instead."""


class SmallLabelsWarning(RenderNotice):
    """At the asked print width, a cell's labels print smaller than :data:`MIN_LABEL_PT`."""


def edge_label(edge: GenotypeEdge) -> str:
    """'sep_conv_3x3 · SELU', 'sep_conv · k=5 · PReLU', 'skip_connect'."""
    return SEP.join(label_lines(edge))


def render_genotype(
    genotype: Genotype,
    out: Path | str,
    *,
    fmt: str = "pdf",
    cells: Iterable[str] = CELLS,
    dpi: int = 300,
    width: float | None = None,
    family: str | None = None,
) -> list[Path]:
    """Write one drawing per cell: ``out``'s stem + ``_normal.pdf``, ``_reduce.pdf``...

    Args:
        genotype: the architecture to draw.
        out: where to write; its suffix is replaced by ``_<cell>.<fmt>``.
        fmt: ``"pdf"``, ``"svg"``, ``"png"`` (at ``dpi``) or ``"gv"`` (the dot source).
        cells: which cells to draw.
        dpi: the resolution of a ``png``.
        width: the print width in inches (3.3 for one column of a two-column paper): each
            drawing is laid out by :func:`fit_width` and scaled to exactly this width, with a
            :class:`SmallLabelsWarning` (naming the width that keeps them legible) where its
            labels still print under :data:`MIN_LABEL_PT`.
        family: the cell family (:data:`factorspace.viz.cell.FAMILIES`): how a cell of the
            genotype becomes nodes and edges.

    Returns:
        The paths written. Each is written atomically (a temporary file, then a rename). If
        graphviz's ``dot`` is missing they are ``.gv`` files, with a
        :class:`GraphvizMissingWarning` per file saying how to install ``dot`` and finish.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    out = Path(out)
    can_measure = shutil.which("dot") is not None
    have_dot = fmt == "gv" or can_measure
    written = []
    for cell in (c for c in cells if c in genotype.cell_types):  # NB201: one cell, normal
        if width is not None and can_measure:
            fitted = fit_width(genotype, cell, width, family)
            g = fitted.graph
            if fitted.label_pt < MIN_LABEL_PT:
                warnings.warn(
                    small_labels_notice(cell, fitted, width), SmallLabelsWarning, stacklevel=2
                )
        else:
            g = cell_graph(genotype, cell, family=family)
            if width is not None:  # no `dot` to measure with: scaled to the width when drawn
                g.graph_attr["size"] = _size(width)
        path = out.with_name(f"{out.stem}_{cell}.{fmt}")
        if have_dot and fmt != "gv":
            if fmt == "png":
                g.graph_attr["dpi"] = str(dpi)
            try:
                atomic_write_bytes(path, g.pipe(format=fmt))
                written.append(path)
                continue
            except graphviz.ExecutableNotFound:
                have_dot = False
        gv = path.with_suffix(".gv")
        atomic_write_bytes(gv, g.source.encode())
        written.append(gv)
        if fmt != "gv":
            warnings.warn(missing_dot_notice(gv, fmt), GraphvizMissingWarning, stacklevel=2)
    return written


@dataclass(frozen=True)
class Fitted:
    """A cell laid out for a print width: the graph and its smallest label's printed size."""

    graph: graphviz.Digraph
    label_pt: float
    natural_width: float = 0.0  # inches, before scaling, padding included


def fit_width(genotype: Genotype, cell: str, width: float, family: str | None = None) -> Fitted:
    """Lay ``cell`` out to print ``width`` inches wide, its labels :data:`MIN_LABEL_PT` to
    :data:`MAX_LABEL_PT` points where they can be.

    The drawing is scaled to ``width`` (graphviz ``size="W,H!"``), which scales its fonts by
    ``width`` over the natural width. Left to right is preferred (as DARTS draws), then top to
    bottom; each at the font scales of :data:`FONT_SCALES` (larger fonts widen the drawing less
    than in proportion, leaving the edges less room between the ranks). The first layout whose
    labels print at :data:`MIN_LABEL_PT` or more is taken; where they would print larger than
    :data:`MAX_LABEL_PT` (a small cell at full page width) the drawing is scaled to print them
    at :data:`MAX_LABEL_PT` and centred in ``width`` with white on either side, not blown up.
    If no layout is legible, the one whose labels print largest is taken. A layout's label size
    is proportional to ``width``, so the width that makes it legible is ``width * MIN_LABEL_PT /
    label_pt``. Needs graphviz's ``dot`` (each layout is measured).
    """
    tried = []
    for fitted in _layouts(genotype, cell, width, family):
        if fitted.label_pt >= MIN_LABEL_PT:  # the smallest legible fonts leave edges most room
            break
        tried.append(fitted)
    else:
        fitted = max(tried, key=lambda f: f.label_pt)
    g = fitted.graph
    g.graph_attr["size"] = _size(width)
    if fitted.label_pt > MAX_LABEL_PT:  # widen the padding until the labels print at the maximum
        # graphviz scales the drawing and its padding together to ``size``: the padded width
        # that prints at the maximum is the natural one times label_pt / MAX_LABEL_PT
        pad = float(GRAPH_ATTR["pad"])
        padded = fitted.natural_width * fitted.label_pt / MAX_LABEL_PT
        side = (padded - (fitted.natural_width - 2 * pad)) / 2
        g.graph_attr["pad"] = f"{side:.4g},{pad:g}"
        return Fitted(g, MAX_LABEL_PT, fitted.natural_width)
    return fitted


def _layouts(genotype: Genotype, cell: str, width: float, family: str | None) -> Iterator[Fitted]:
    """The layouts :func:`fit_width` tries, in order of preference, each measured."""
    for rankdir in ("LR", "TB"):
        for font_scale in FONT_SCALES:
            g = cell_graph(genotype, cell, rankdir=rankdir, font_scale=font_scale, family=family)
            natural = _natural_width(g)
            yield Fitted(g, FONT_SIZES["edge"] * font_scale * width / natural, natural)


def small_labels_notice(cell: str, fitted: Fitted, width: float) -> str:
    """The one line that says how small the labels print and which width keeps them legible."""
    legible = math.ceil(10 * width * MIN_LABEL_PT / fitted.label_pt) / 10
    return (
        f"the {cell} cell's labels print at {fitted.label_pt:.1f} pt at {width:g} in wide, under "
        f"{MIN_LABEL_PT:g} pt; --width {legible:g} keeps them at {MIN_LABEL_PT:g} pt"
    )


def _natural_width(g: graphviz.Digraph) -> float:
    """The drawing's width in inches, padding included, at its font sizes (from its SVG)."""
    svg = g.pipe(format="svg").decode()
    return float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1)) / 72


def _size(width: float) -> str:
    """graphviz's size: exactly ``width`` wide (``!`` scales up too), any height."""
    return f"{width:g},{100 * width:g}!"


def missing_dot_notice(gv: Path, fmt: str = "pdf") -> str:
    """The one line that says what was written instead and how to finish the job."""
    target = gv.with_suffix(f".{fmt}")
    return (
        f"graphviz's `dot` was not found; wrote {gv} — install it with `apt-get install graphviz`"
        f" (Debian/Ubuntu) or `brew install graphviz`, then run `dot -T{fmt} {gv} -o {target}`"
    )
