"""What a cell drawing shows, as plain data: nodes, edges with their labels and colours, a legend.

:func:`~factorspace.viz.render.cell_graph` lays out a :class:`CellDrawing` whatever the cell family;
a family only says how its genotype becomes one. :func:`darts_cell` does it for DARTS-style cells
(two inputs, intermediate nodes, a concatenated output); another family (NAS-Bench-201's: one
input node 0, nodes 1..3, node 3 the output, no concat) is another such function, registered in
:data:`FAMILIES`.

Nodes are named as in the DARTS paper's figures (Liu et al. 2019, Fig. 4-5): the inputs c_{k-2},
c_{k-1}, the intermediate nodes 0..N-1, the output c_{k}. Genotype files number the same nodes as
DARTS's code does (0, 1 = the inputs, 2.. = intermediate); :func:`~factorspace.viz.palette.node_name`
turns one into the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from factorspace.genotype import Genotype, GenotypeEdge
from factorspace.viz.palette import (
    ARGUMENT_ABBREVIATIONS,
    INPUT_NAMES,
    NO_ACTIVATION,
    NO_ACTIVATION_NAME,
    OUTPUT_NAME,
    activation_colors,
    display_name,
    node_name,
)

CELLS = ("normal", "reduce")
SEP = " · "
# What a caption says of the node names (the same sentence in the report and the docs).
DARTS_NUMBERING = (
    "nodes as in the DARTS paper: inputs c_{k-2} and c_{k-1}, intermediate nodes 0, 1, ..., "
    "output c_{k}"
)


@dataclass(frozen=True)
class CellNode:
    """A node: ``name`` is its text (``c_{k-2}`` is drawn with a subscript); ``role`` its place
    (inputs on the left, the output on the right)."""

    name: str
    role: Literal["input", "intermediate", "output"]


@dataclass(frozen=True)
class CellEdge:
    """An edge between two nodes (by name). ``lines`` is its label, one string per line (none for
    an unlabelled edge); ``colors`` one colour per activation on it (none: the neutral grey);
    ``role`` ``"op"`` for an operation, ``"output"`` for a node joined into the output."""

    source: str
    target: str
    lines: tuple[str, ...] = ()
    colors: tuple[str, ...] = ()
    role: Literal["op", "output"] = "op"


@dataclass(frozen=True)
class CellDrawing:
    """Everything a drawing of one cell shows; ``legend`` maps a display name to its colour."""

    nodes: tuple[CellNode, ...]
    edges: tuple[CellEdge, ...]
    legend: dict[str, str] = field(default_factory=dict)
    numbering: str = DARTS_NUMBERING


def label_lines(edge: GenotypeEdge) -> list[str]:
    """The operator and its arguments, then the activations (if any): two short lines."""
    args = [f"{ARGUMENT_ABBREVIATIONS.get(k, k)}={v}" for k, v in edge.arguments.items()]
    acts = [display_name(a) for a in edge.inputs.values()]
    return [line for line in (SEP.join([edge.op, *args]), SEP.join(acts)) if line]


def darts_cell(genotype: Genotype, cell: str = "normal") -> CellDrawing:
    """A DARTS-style cell (DARTS, PC-DARTS, A-DARTS...): inputs c_{k-2}, c_{k-1}; intermediate
    nodes 0..N-1; each kept edge labelled and coloured by its activations; the ``concat`` nodes
    joined into c_{k}."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, not {cell!r}")
    c = getattr(genotype, cell)
    colors = activation_colors(a for e in c.edges for a in e.inputs.values())
    last = max([e.target for e in c.edges] + list(c.concat) + [1])
    nodes = [CellNode(name, "input") for name in INPUT_NAMES]
    nodes += [CellNode(node_name(n), "intermediate") for n in range(2, last + 1)]
    nodes.append(CellNode(OUTPUT_NAME, "output"))
    edges = [
        CellEdge(
            node_name(e.source),
            node_name(e.target),
            tuple(label_lines(e)),
            tuple(colors[a] for a in e.inputs.values()),
        )
        for e in c.edges
    ]
    edges += [CellEdge(node_name(n), OUTPUT_NAME, role="output") for n in c.concat]
    return CellDrawing(tuple(nodes), tuple(edges), legend_of(colors, edges))


def legend_of(colors: dict[str, str], edges: list[CellEdge]) -> dict[str, str]:
    """Display name -> colour of each activation used, then the grey of edges with none (if any)."""
    legend = {display_name(a): color for a, color in colors.items()}
    if any(e.role == "op" and not e.colors for e in edges):
        legend[NO_ACTIVATION_NAME] = NO_ACTIVATION
    return legend


NB201_NUMBERING = (
    "nodes as in NAS-Bench-201's cell strings: input 0, nodes 1, 2, ..., the last the output"
)


def nb201_cell(genotype: Genotype, cell: str = "normal") -> CellDrawing:
    """A NAS-Bench-201 cell (the ``nb201`` family): input node 0, nodes 1..N each the sum of its
    edges, the last node the output; each edge labelled with its operation (and arguments,
    activations); ``none`` edges, kept by the family's derivation, are no connection and not
    drawn."""
    c = getattr(genotype, cell)
    if c is None:
        raise ValueError(f"an nb201 genotype has no {cell!r} cell; it has: normal")
    colors = activation_colors(a for e in c.edges for a in e.inputs.values())
    last = max([e.target for e in c.edges] + list(c.concat))
    role = {0: "input", last: "output"}
    nodes = [CellNode(str(n), role.get(n, "intermediate")) for n in range(last + 1)]
    edges = [
        CellEdge(
            str(e.source),
            str(e.target),
            tuple(label_lines(e)),
            tuple(colors[a] for a in e.inputs.values()),
        )
        for e in c.edges
        if e.op != "none"
    ]
    return CellDrawing(tuple(nodes), tuple(edges), legend_of(colors, edges), NB201_NUMBERING)


# family name -> how its genotype's cell becomes a drawing
FAMILIES: dict[str, Callable[[Genotype, str], CellDrawing]] = {
    "darts": darts_cell,
    "nb201": nb201_cell,
}


def cell_drawing(
    genotype: Genotype, cell: str = "normal", family: str | None = None
) -> CellDrawing:
    """``cell`` of ``genotype`` as a drawing, by its family's function in :data:`FAMILIES`
    (``family``: the genotype's own, :attr:`~factorspace.genotype.Genotype.cell_family`)."""
    family = family or genotype.cell_family
    try:
        draw = FAMILIES[family]
    except KeyError:
        raise ValueError(
            f"no drawing for cell family {family!r}; known: {sorted(FAMILIES)}"
        ) from None
    return draw(genotype, cell)
