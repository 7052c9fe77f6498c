"""Draw a genotype's cells as the DARTS papers do, with each edge's activation and arguments.

Inputs c_{k-2}, c_{k-1} on the left, intermediate nodes 0..N-1 in the middle, the output c_{k}
on the right; each kept edge is labelled ``operator · arguments`` over its activation, the label
in the middle of the edge, and coloured by its activation, with a legend under the cell. What is
drawn comes from :mod:`factorspace.viz.cell` (a cell family's genotype as nodes and edges); this
module lays it out with graphviz. Sizes suit one column of a two-column paper; :func:`fit_width`
lays a cell out for a given print width with every label at least :data:`MIN_LABEL_PT` points.

Building a graph needs only the ``graphviz`` Python package. Rendering needs graphviz's ``dot``
program; without it :func:`render_genotype` writes the ``.gv`` source and warns how to finish.
"""

from __future__ import annotations

import itertools
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
from factorspace.viz.cell import CELLS, SEP, CellDrawing, cell_drawing, label_lines
from factorspace.viz.palette import (  # noqa: F401  (re-exported: these lived here before palette)
    ACTIVATION_COLORS,
    CONCAT,
    DISPLAY_NAMES,
    NO_ACTIVATION,
    activation_colors,
)

FORMATS = ("pdf", "svg", "png", "gv")

# Each edge's label is a node of its own, in the middle of the edge: an edge a -> b is drawn as
# a -> label -> b, the label's text interrupting the line. graphviz's own edge labels (``label``,
# ``xlabel``) are placed after the edges are routed, so other edges ran through them and, on a
# curved edge, they sat far from it (a leader line, ``decorate``, then tied them back and looked
# like one more edge). As nodes, labels get a rank and a place like the cell's nodes: dot routes
# every edge around them, so no edge crosses a label and no label overlaps another; and where
# several edges carry the same operator (a reduce cell's max_pool_3x3s), each label sits on its
# own edge. Left to right, as the DARTS paper's figures (Liu et al. 2019, Fig. 4-5) and the
# A-DARTS paper's Figure 3 draw cells: inputs left, output right.
FONT = "Helvetica,Arial,Liberation Sans,sans-serif"  # Helvetica or a metric twin: as laid out
GRAPH_ATTR = {
    "rankdir": "LR",
    "nodesep": "0.2",  # enough that an arrow clearly ends at one of two stacked nodes
    "margin": "0",
    "pad": "0.06",  # inside the white background, unlike margin
    "bgcolor": "white",
    "fontname": FONT,
    "fontsize": "14",
    "outputorder": "edgesfirst",  # nodes (labels too) over any edge that comes near them
    # Straight segments: where both inputs feed every node their edges must cross, and straight
    # lines fanning out of each input are easy to follow; dot's curves ran parallel there.
    # (``ortho`` would drop the label nodes' ports; ``line`` ignores nodes and crossed labels.)
    "splines": "polyline",
}
NODE_ATTR = {
    "style": "filled",
    "shape": "rect",
    "fontname": FONT,
    "fontsize": "14",
    "penwidth": "1.0",
    "height": "0.32",
    "width": "0.32",
    "margin": "0.05,0.03",
}
EDGE_ATTR = {"arrowsize": "0.6", "penwidth": "1.6"}
LABEL_ATTR = {  # an edge's label node: text only, a little air around it
    "shape": "plaintext",
    "style": "",
    "margin": "0.04,0.03",  # clearance: edges are routed around it
    "width": "0",
    "height": "0",
}
# Between ranks: room for the edges fanning out of a node to cross at clear angles. Top to bottom,
# labels are short (two lines) and the width is what a column lacks, so ranks are further apart.
RANKSEP = {"LR": "0.3", "TB": "0.45"}
FONT_SIZES = {"graph": 14, "node": 14, "edge": 11, "legend": 11}  # points, before scaling
SUBSCRIPT = 0.8  # a subscript's size in an SVG, of its node's text (cairo: about 0.67 in PNG, PDF)
MIN_LABEL_PT = 7.0  # the smallest print size journals accept for figure text (Nature, IEEE)
MAX_LABEL_PT = 9.0  # and no larger than a caption: a small cell is not blown up to fill a page
FONT_SCALES = (1.0, 1.25, 1.6, 2.0)  # what fit_width tries: larger fonts widen a drawing less
FILLS = {"input": "darkseagreen2", "intermediate": "lightblue", "output": "palegoldenrod"}  # DARTS
LEGEND_COLUMNS = 3  # legend entries per row, under the cell


class RenderNotice(UserWarning):
    """Something the user of a drawing should hear about (the CLI prints it as one line)."""


class GraphvizMissingWarning(RenderNotice):
    """graphviz's ``dot`` is not installed: the ``.gv`` source was written instead."""


class SmallLabelsWarning(RenderNotice):
    """At the asked print width, a cell's labels print smaller than :data:`MIN_LABEL_PT`."""


def edge_label(edge: GenotypeEdge) -> str:
    """'sep_conv_3x3 · SELU', 'sep_conv · k=5 · PReLU', 'skip_connect'."""
    return SEP.join(label_lines(edge))


def cell_graph(
    genotype: Genotype,
    cell: str = "normal",
    *,
    label: str | None = None,
    rankdir: str = "LR",
    font_scale: float = 1.0,
    family: str = "darts",
) -> graphviz.Digraph:
    """Draw one cell of ``genotype`` as a left-to-right :class:`graphviz.Digraph`.

    Args:
        genotype: the architecture to draw.
        cell: ``"normal"`` or ``"reduce"``.
        label: an optional title under the graph; none by default (the caption is the paper's).
        rankdir: ``"LR"`` (inputs left, output right, as DARTS draws) or ``"TB"`` (top down).
        font_scale: every font size times this (see :func:`fit_width`).
        family: the cell family (:data:`~factorspace.viz.cell.FAMILIES`): how the genotype's
            cell becomes nodes and edges.

    Returns:
        The graph; ``.source`` is its dot text, ``.pipe(format="svg")`` renders it (needs ``dot``).

    Example:
        >>> g = cell_graph(genotype, "reduce")
        >>> "c_{k}" in g.source
        True
    """
    return drawing_graph(
        cell_drawing(genotype, cell, family),
        name=f"{genotype.name or 'genotype'}_{cell}",
        label=label,
        rankdir=rankdir,
        font_scale=font_scale,
    )


def drawing_graph(
    drawing: CellDrawing,
    *,
    name: str = "cell",
    label: str | None = None,
    rankdir: str = "LR",
    font_scale: float = 1.0,
) -> graphviz.Digraph:
    """Lay out any :class:`~factorspace.viz.cell.CellDrawing` (see :func:`cell_graph`).

    Node ``n`` of the drawing is graphviz node ``n``; the label of op edge ``k`` is node
    ``label<k>``, its halves edges ``<source> -> label<k>`` (no arrowhead) and ``label<k> ->
    <target>``; the legend, and ``label`` above it, is the graph's label, under the cell.
    """
    size = {k: f"{v * font_scale:.3g}" for k, v in FONT_SIZES.items()}
    box = f"{float(NODE_ATTR['width']) * font_scale:.3g}"
    sub = f"{FONT_SIZES['node'] * SUBSCRIPT * font_scale:.3g}"
    caption = _caption(label, drawing.legend, size["legend"])
    g = graphviz.Digraph(
        name=name,
        engine="dot",
        graph_attr=GRAPH_ATTR
        | {"rankdir": rankdir, "fontsize": size["graph"], "ranksep": RANKSEP[rankdir]}
        | ({"label": caption, "labelloc": "b", "labeljust": "c"} if caption else {}),
        node_attr=NODE_ATTR
        | {"fontsize": size["node"], "width": box, "height": box},  # boxes grow with their text
        edge_attr={k: f"{float(v) * font_scale:.3g}" for k, v in EDGE_ATTR.items()},
    )
    inputs = [n.name for n in drawing.nodes if n.role == "input"]
    with g.subgraph() as column:  # c_{k-2} above c_{k-1}, as in the DARTS figures
        column.attr(rank="source")
        for n in inputs:
            column.node(n, _html_name(n, sub), fillcolor=FILLS["input"])
        for a, b in itertools.pairwise(inputs):
            column.edge(a, b, style="invis")
    for n in drawing.nodes:
        if n.role == "intermediate":
            g.node(n.name, _html_name(n.name, sub), fillcolor=FILLS["intermediate"], group=n.name)
    with g.subgraph() as column:
        column.attr(rank="sink")
        for n in drawing.nodes:
            if n.role == "output":
                column.node(n.name, _html_name(n.name, sub), fillcolor=FILLS["output"])
    ops = [e for e in drawing.edges if e.role == "op"]
    # into a label on the side facing the inputs, out of it on the other: the line runs through
    # the label as if the text were written on it. (Into a node too, at its middle, was tried:
    # with little room between ranks the edges then turn sharply and bunch up before the node.)
    # A label shares its target's ``group``: dot keeps such edges short and straight, so the
    # labels of a node's inputs sit just before it, the nodes come out in order, and where two
    # inputs' edges must cross they do so near the inputs, not in a knot before the node.
    into, out_of = ("w", "e") if rankdir == "LR" else ("n", "s")
    for k, e in enumerate(ops):
        color = ":".join(e.colors) or NO_ACTIVATION
        middle = f"label{k}"
        text = "\\n".join(e.lines)
        g.node(middle, text, fontsize=size["edge"], group=e.target, **LABEL_ATTR)
        g.edge(e.source, middle, color=color, arrowhead="none", tailport=out_of, headport=into)
        g.edge(middle, e.target, color=color, tailport=out_of)
    for e in drawing.edges:
        if e.role == "output":
            g.edge(e.source, e.target, color=CONCAT, penwidth=f"{font_scale:.3g}")
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
    for cell in cells:
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
    natural_width: float = 0.0  # inches, before scaling, padding included


def fit_width(genotype: Genotype, cell: str, width: float, family: str = "darts") -> Fitted:
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


def _layouts(genotype: Genotype, cell: str, width: float, family: str) -> Iterator[Fitted]:
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


def _html_name(name: str, point_size: str) -> str:
    """'c_{k-2}' -> an HTML label with k-2 as a subscript (graphviz's ``<...>`` label syntax),
    its size given: an SVG keeps a subscript's size as it is, and browsers draw it full size."""
    if "_" not in name:
        return name
    base, sub = name.split("_", 1)
    sub = escape(sub.strip("{}"))
    return f'<{escape(base)}<sub><font point-size="{point_size}">{sub}</font></sub>>'


def _caption(title: str | None, legend: dict[str, str], point_size: str) -> str | None:
    """The graph's label: the title (if any) over the legend, :data:`LEGEND_COLUMNS` entries a
    row. Each entry is one cell, a bar of its colour (U+25AC, in every font with the WGL4 set:
    Helvetica, Arial, Liberation, DejaVu) then the name: a swatch cell apart from its name
    drifted away from it where a row has fewer entries than the widest."""
    entries = [
        f'<td align="left"><font point-size="{point_size}"><font color="{color}">\u25ac</font>'
        f" {escape(name)}</font></td>"
        for name, color in legend.items()
    ]
    rows = [
        "<tr>" + "".join(entries[i : i + LEGEND_COLUMNS]) + "</tr>"
        for i in range(0, len(entries), LEGEND_COLUMNS)
    ]
    if title:
        span = min(len(entries), LEGEND_COLUMNS) or 1
        rows.insert(0, f'<tr><td colspan="{span}">{escape(title)}</td></tr>')
    if not rows:
        return None
    return f'<<table border="0" cellborder="0" cellspacing="1" cellpadding="2">{"".join(rows)}</table>>'
