"""Draw a genotype's cells as the DARTS papers do, with each edge's activation and arguments.

Inputs c_{k-2}, c_{k-1} on the left, intermediate nodes 0..N-1 in the middle, the output c_{k}
on the right; each kept edge is labelled ``operator · arguments · activation``, the label tied to
its edge by a line (graphviz's ``decorate``), and coloured by its activation, with a legend of the
activations used. Sizes suit one column of a two-column paper; :func:`fit_width` lays a cell out
for a given print width with every label at least :data:`MIN_LABEL_PT` points.

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
from html import escape
from pathlib import Path

import graphviz

from factorspace.genotype import Genotype, GenotypeEdge
from factorspace.run.atomic import atomic_write_bytes
from factorspace.viz.palette import (
    ACTIVATION_COLORS,  # noqa: F401  (re-exported: these lived here before palette)
    CONCAT,
    DISPLAY_NAMES,  # noqa: F401
    INPUT_NAMES,
    NO_ACTIVATION,
    OUTPUT_NAME,
    activation_colors,
    display_name,
    node_name,
)

FORMATS = ("pdf", "svg", "png", "gv")
CELLS = ("normal", "reduce")

ARGUMENT_ABBREVIATIONS = {"kernel_size": "k", "dilation": "d", "stride": "s", "groups": "g"}

# Sized for one column of a two-column paper (~3.3 in): a four-node DARTS cell comes out ~5 in
# wide, so scaled to the column its operator labels read at ~7 pt and its nodes at ~9 pt. Labels
# take two lines (operator, then activation), which halves the width their ranks need.
FONT = "Helvetica,Arial,sans-serif"  # Helvetica where it exists, else its metric twins
GRAPH_ATTR = {
    "rankdir": "LR",
    "ranksep": "0.15",
    "nodesep": "0.1",
    "margin": "0",
    "pad": "0.08",  # inside the white background, unlike margin
    "bgcolor": "white",
    "fontname": FONT,
    "fontsize": "14",
}
NODE_ATTR = {
    "style": "filled",
    "shape": "rect",
    "fontname": FONT,
    "fontsize": "14",
    "penwidth": "1.2",
    "height": "0.36",
    "width": "0.36",
    "margin": "0.06,0.03",
}
EDGE_ATTR = {
    "fontname": FONT,
    "fontsize": "11",
    "arrowsize": "0.6",
    "penwidth": "1.6",
    "decorate": "true",  # a line from each label to its edge: no label sits between two edges
}
FONT_SIZES = {"graph": 14, "node": 14, "edge": 11, "legend": 11}  # points, before scaling
MIN_LABEL_PT = 7.0  # the smallest print size journals accept for figure text (Nature, IEEE)
FONT_SCALES = (1.0, 1.25, 1.6, 2.0)  # what fit_width tries: larger fonts widen a drawing less
INPUT_FILL, NODE_FILL, OUTPUT_FILL = "darkseagreen2", "lightblue", "palegoldenrod"  # as DARTS
LEGEND = "legend"
SEP = " · "


class RenderNotice(UserWarning):
    """Something the user of a drawing should hear about (the CLI prints it as one line)."""


class GraphvizMissingWarning(RenderNotice):
    """graphviz's ``dot`` is not installed: the ``.gv`` source was written instead."""


class SmallLabelsWarning(RenderNotice):
    """At the asked print width, a cell's labels print smaller than :data:`MIN_LABEL_PT`."""


def edge_label(edge: GenotypeEdge) -> str:
    """'sep_conv_3x3 · SELU', 'sep_conv · k=5 · PReLU', 'skip_connect'."""
    return SEP.join(_label_lines(edge))


def _label_lines(edge: GenotypeEdge) -> list[str]:
    """The operator and its arguments, then the activations (if any)."""
    args = [f"{ARGUMENT_ABBREVIATIONS.get(k, k)}={v}" for k, v in edge.arguments.items()]
    acts = [display_name(a) for a in edge.inputs.values()]
    return [line for line in (SEP.join([edge.op, *args]), SEP.join(acts)) if line]


def cell_graph(
    genotype: Genotype,
    cell: str = "normal",
    *,
    label: str | None = None,
    rankdir: str = "LR",
    font_scale: float = 1.0,
):
    """Draw one cell of ``genotype`` as a left-to-right :class:`graphviz.Digraph`.

    Args:
        genotype: the architecture to draw.
        cell: ``"normal"`` or ``"reduce"``.
        label: an optional title under the graph; none by default (the caption is the paper's).
        rankdir: ``"LR"`` (inputs left, output right, as DARTS draws) or ``"TB"`` (top down).
        font_scale: every font size times this (see :func:`fit_width`).

    Returns:
        The graph; ``.source`` is its dot text, ``.pipe(format="svg")`` renders it (needs ``dot``).

    Example:
        >>> g = cell_graph(genotype, "reduce")
        >>> "c_{k}" in g.source
        True
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, not {cell!r}")
    if genotype.cell_family == "nb201":  # NAS-Bench-201's cell: input 0 -> nodes 1..n
        from factorspace.viz.render_nb201 import nb201_cell_graph

        return nb201_cell_graph(genotype, cell, label=label, rankdir=rankdir, font_scale=font_scale)
    c = getattr(genotype, cell)
    size = {k: f"{v * font_scale:.3g}" for k, v in FONT_SIZES.items()}
    g = graphviz.Digraph(
        name=f"{genotype.name or 'genotype'}_{cell}",
        engine="dot",
        graph_attr=GRAPH_ATTR
        | {"rankdir": rankdir, "fontsize": size["graph"]}
        | ({"label": label, "labelloc": "b"} if label else {}),
        node_attr=NODE_ATTR | {"fontsize": size["node"]},
        edge_attr=EDGE_ATTR | {"fontsize": size["edge"]},
    )
    with g.subgraph() as inputs:  # c_{k-2} above c_{k-1}, as in the DARTS figures
        inputs.attr(rank="same")
        for name in INPUT_NAMES:
            inputs.node(name, _subscript(name), fillcolor=INPUT_FILL)
        inputs.edge(INPUT_NAMES[0], INPUT_NAMES[1], style="invis")
    last = max([e.target for e in c.edges] + list(c.concat) + [1])
    for node in range(2, last + 1):
        g.node(str(node - 2), fillcolor=NODE_FILL)
    g.node(OUTPUT_NAME, _subscript(OUTPUT_NAME), fillcolor=OUTPUT_FILL)

    colors = activation_colors(a for e in c.edges for a in e.inputs.values())
    for e in c.edges:
        color = ":".join(colors[a] for a in e.inputs.values()) or NO_ACTIVATION
        g.edge(
            node_name(e.source), node_name(e.target), label="\\n".join(_label_lines(e)), color=color
        )
    for node in c.concat:
        g.edge(node_name(node), OUTPUT_NAME, color=CONCAT, penwidth="1.0")
    if colors:
        with g.subgraph() as out:  # the legend beside c_{k}, where the graph has room
            out.attr(rank="same")
            out.node(LEGEND, _legend(colors, size["legend"]), shape="plain", style="")
            out.edge(OUTPUT_NAME, LEGEND, style="invis")
    return g


def render_genotype(
    genotype: Genotype,
    out: Path | str,
    *,
    fmt: str = "pdf",
    cells: Iterable[str] = CELLS,
    dpi: int = 300,
    width: float | None = None,
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
            fitted = fit_width(genotype, cell, width)
            g = fitted.graph
            if fitted.label_pt < MIN_LABEL_PT:
                warnings.warn(
                    small_labels_notice(cell, fitted, width), SmallLabelsWarning, stacklevel=2
                )
        else:
            g = cell_graph(genotype, cell)
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


def fit_width(genotype: Genotype, cell: str, width: float) -> Fitted:
    """Lay ``cell`` out to print ``width`` inches wide, its labels at least :data:`MIN_LABEL_PT`.

    The drawing is scaled to ``width`` (graphviz ``size="W,H!"``), which scales its fonts by
    ``width`` over the natural width. The layouts tried, in order of preference: left to right,
    then top to bottom, each at the font scales of :data:`FONT_SCALES` (larger fonts widen the
    drawing less than in proportion). The first whose labels print at :data:`MIN_LABEL_PT` or
    more is taken, else the one whose labels print largest. A layout's label size is proportional
    to ``width``, so the width that makes the best one legible is ``width * MIN_LABEL_PT /
    label_pt``. Needs graphviz's ``dot`` (each layout is measured).
    """
    tried = []
    for fitted in _layouts(genotype, cell, width):
        if fitted.label_pt >= MIN_LABEL_PT:
            break
        tried.append(fitted)
    else:
        fitted = max(tried, key=lambda f: f.label_pt)
    fitted.graph.graph_attr["size"] = _size(width)
    return fitted


def _layouts(genotype: Genotype, cell: str, width: float) -> Iterator[Fitted]:
    """The layouts :func:`fit_width` tries, in order of preference, each measured."""
    for rankdir in ("LR", "TB"):
        for font_scale in FONT_SCALES:
            g = cell_graph(genotype, cell, rankdir=rankdir, font_scale=font_scale)
            yield Fitted(g, FONT_SIZES["edge"] * font_scale * width / _natural_width(g))


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


def _subscript(name: str) -> str:
    """'c_{k-2}' -> an HTML label with k-2 as a subscript (graphviz's ``<...>`` label syntax)."""
    base, sub = name.split("_", 1)
    return f"<{base}<sub>{sub.strip('{}')}</sub>>"


def _legend(colors: dict[str, str], point_size: str) -> str:
    rows = "".join(
        f'<tr><td width="18" height="10" fixedsize="true" bgcolor="{color}"></td>'
        f'<td align="left"><font point-size="{point_size}">{escape(display_name(name))}</font>'
        "</td></tr>"
        for name, color in colors.items()
    )
    return f'<<table border="0" cellborder="0" cellspacing="2" cellpadding="1">{rows}</table>>'
