"""Lay a cell drawing out with graphviz: nodes, edges with their labels, the legend.

What is drawn comes from :mod:`factorspace.viz.cell` (a cell family's genotype as nodes and
edges); :func:`drawing_graph` turns any such drawing into a :class:`graphviz.Digraph`, and
:func:`cell_graph` does it for a genotype's cell. :mod:`factorspace.viz.render` writes the files.
Building a graph needs only the ``graphviz`` Python package, not its ``dot`` program.
"""

from __future__ import annotations

import itertools
from html import escape

import graphviz

from factorspace.genotype import Genotype
from factorspace.viz.cell import CellDrawing, cell_drawing
from factorspace.viz.palette import CONCAT, NO_ACTIVATION

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
FILLS = {"input": "darkseagreen2", "intermediate": "lightblue", "output": "palegoldenrod"}  # DARTS
LEGEND_COLUMNS = 3  # legend entries per row, under the cell


def cell_graph(
    genotype: Genotype,
    cell: str = "normal",
    *,
    label: str | None = None,
    rankdir: str = "LR",
    font_scale: float = 1.0,
    family: str | None = None,
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
    if rankdir not in RANKSEP:
        raise ValueError(f"rankdir must be one of {tuple(RANKSEP)}, not {rankdir!r}")
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
