"""NAS-Bench-201 cells as genotypes, and back: ``|nor_conv_3x3~0|+|...|`` <-> a ``nb201`` genotype.

(Here, beside the family, rather than in :mod:`factorspace.genotype`: the string format is the
benchmark table's, :mod:`factorspace.evidence.nb201`, a layer above the genotype package.)

A genotype of the ``nb201`` family (:mod:`factorspace.genotype.model`) has one cell, ``normal``,
with an edge from every earlier node to every later one, ``none`` edges included. It is a cell of
the benchmark's table when it has 3 nodes and every edge is one of the benchmark's operations:
``none``, ``skip_connect``, ``avg_pool_3x3``, ``nor_conv_1x1``, ``nor_conv_3x3``, or ``nor_conv``
with ``kernel_size`` 1 or 3 (the factorized space's operation kind x kernel size), and no input
factor. The string format and the table are :mod:`factorspace.evidence.nb201`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factorspace.errors import FactorspaceError
from factorspace.evidence.nb201 import EDGES, OPERATIONS, format_cell, parse_cell
from factorspace.genotype.model import Genotype, GenotypeCell, GenotypeEdge

FAMILY = "nb201"
NODES = 3  # the benchmark's cell: nodes 1..3 after the input
KERNEL_OPS = {1: "nor_conv_1x1", 3: "nor_conv_3x3"}  # nor_conv's kernel_size -> the benchmark's
FACTORIZED_OP = "nor_conv"


def edge_operation(op: str, arguments: Mapping[str, Any], inputs: Mapping[str, str]) -> str | None:
    """The benchmark's name for an edge (its operator, arguments and input factors), or ``None``
    when it is none of the benchmark's operations."""
    if inputs:
        return None
    if op in OPERATIONS and not arguments:
        return op
    if op == FACTORIZED_OP and set(arguments) == {"kernel_size"}:
        return KERNEL_OPS.get(arguments["kernel_size"])
    return None


def nb201_operations(genotype: Genotype) -> tuple[str, ...]:
    """The six operations of an ``nb201`` genotype's cell, in the benchmark's edge order.

    Raises:
        FactorspaceError: for a genotype that is no cell of the benchmark's table, saying why.
    """
    if genotype.cell_family != FAMILY:
        raise FactorspaceError(
            f"a {genotype.cell_family} genotype is no NAS-Bench-201 cell (family: nb201 is)"
        )
    by_edge = {(e.source, e.target): e for e in genotype.normal.edges}
    if sorted(by_edge) != sorted(EDGES) or len(genotype.normal.edges) != len(EDGES):
        raise FactorspaceError(
            f"a NAS-Bench-201 cell has {NODES} nodes and the edges {list(EDGES)}, once each; this "
            f"one has {[(e.source, e.target) for e in genotype.normal.edges]}"
        )
    ops = []
    for source, target in EDGES:
        e = by_edge[(source, target)]
        name = edge_operation(e.op, e.arguments, e.inputs)
        if name is None:
            raise FactorspaceError(
                f"edge {source}->{target}: {_described(e)} is none of the benchmark's operations"
            )
        ops.append(name)
    return tuple(ops)


def _described(edge: GenotypeEdge) -> str:
    extra = [f"{k}={v}" for k, v in edge.arguments.items()] + list(edge.inputs.values())
    return f"{edge.op!r}" + (f" ({', '.join(extra)})" if extra else "")


def to_nb201_string(genotype: Genotype) -> str:
    """The benchmark's string of an ``nb201`` genotype, e.g.
    ``|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|...|``.

    Raises:
        FactorspaceError: for a genotype that is no cell of the benchmark's table.
    """
    return format_cell(nb201_operations(genotype))


def from_nb201_string(
    text: str, *, space=None, name: str | None = None, source: str | None = None
) -> Genotype:
    """The ``nb201`` genotype of a benchmark cell string.

    With ``space`` (a ``space.cell.kind: nb201`` space), the 1x1 and 3x3 convolutions are written
    as that space names them: ``nor_conv_1x1`` / ``nor_conv_3x3`` when they are choices of its
    operator factor, else ``nor_conv`` with ``kernel_size`` (the factorized space).

    Raises:
        FactorspaceError: for a string that is not a cell of the benchmark's space.
    """
    ops = parse_cell(text)
    factorized = space is not None and _writes_kernel(space)
    edges = []
    for (s, t), op in zip(EDGES, ops, strict=True):
        arguments: dict[str, Any] = {}
        if factorized and op in KERNEL_OPS.values():
            kernel = next(k for k, v in KERNEL_OPS.items() if v == op)
            op, arguments = FACTORIZED_OP, {"kernel_size": kernel}
        edges.append(GenotypeEdge(source=s, target=t, op=op, arguments=arguments))
    cell = GenotypeCell(edges=edges, concat=[NODES])
    return Genotype(family=FAMILY, name=name, source=source, normal=cell)


def _writes_kernel(space) -> bool:
    """Whether ``space`` writes the convolutions as ``nor_conv`` + ``kernel_size``."""
    choices = space.config.operator.choices if hasattr(space, "config") else space.operator.choices
    return FACTORIZED_OP in choices and not set(KERNEL_OPS.values()) & set(choices)


def is_nb201_space(space) -> bool:
    """Whether every cell ``space`` (a :class:`~factorspace.space.Space`) derives is a cell of
    the benchmark's table: the nb201 family, 3 nodes, every candidate one of its operations."""
    if space.family.name != FAMILY or space.nodes != NODES:
        return False
    return all(
        edge_operation(c.op, c.constructor_arguments(), dict(c.inputs)) is not None
        for c in space.candidates
    )
