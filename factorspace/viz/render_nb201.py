"""Draw a NAS-Bench-201 cell (an ``nb201`` genotype): the input node 0 on the left, nodes 1..n
each summing its edges, the last node the cell's output, as the benchmark's paper draws it.

Each edge is labelled with its operator and arguments, coloured by its activation (if the space
has an input factor); ``none`` edges (no connection, kept by the family's derivation) are drawn
dotted and light, so that a cell's missing paths show. :func:`factorspace.viz.render.cell_graph`
sends ``nb201`` genotypes here; the sizes and fonts are that module's.
"""

from __future__ import annotations

import graphviz

from factorspace.genotype import Genotype
from factorspace.registry import OPERATORS
from factorspace.viz.palette import CONCAT, NO_ACTIVATION, activation_colors


def nb201_cell_graph(
    genotype: Genotype,
    cell: str = "normal",
    *,
    label: str | None = None,
    rankdir: str = "LR",
    font_scale: float = 1.0,
) -> graphviz.Digraph:
    """The cell as a :class:`graphviz.Digraph` (the arguments are
    :func:`~factorspace.viz.render.cell_graph`'s)."""
    from factorspace.viz import render  # its sizes and helpers; it imports this module lazily

    c = getattr(genotype, cell)
    size = {k: f"{v * font_scale:.3g}" for k, v in render.FONT_SIZES.items()}
    g = graphviz.Digraph(
        name=f"{genotype.name or 'genotype'}_{cell}",
        engine="dot",
        graph_attr=render.GRAPH_ATTR
        | {"rankdir": rankdir, "fontsize": size["graph"]}
        | ({"label": label, "labelloc": "b"} if label else {}),
        node_attr=render.NODE_ATTR | {"fontsize": size["node"]},
        edge_attr=render.EDGE_ATTR | {"fontsize": size["edge"]},
    )
    last = max([e.target for e in c.edges] + list(c.concat))
    g.node("0", "in", fillcolor=render.INPUT_FILL)
    for node in range(1, last + 1):
        fill = render.OUTPUT_FILL if node in c.concat else render.NODE_FILL
        g.node(str(node), str(node) if node not in c.concat else f"{node} (out)", fillcolor=fill)
    colors = activation_colors(a for e in c.edges for a in e.inputs.values())
    for e in c.edges:
        if e.op in OPERATORS and "zero" in OPERATORS.get(e.op).tags:
            g.edge(str(e.source), str(e.target), style="dotted", color=CONCAT, penwidth="1.0")
            continue
        color = ":".join(colors[a] for a in e.inputs.values()) or NO_ACTIVATION
        g.edge(str(e.source), str(e.target), label="\\n".join(render._label_lines(e)), color=color)
    return g
