"""NAS-Bench-201's cell family (Dong & Yang, ICLR 2020): ``space.cell: {kind: nb201, nodes: 3}``.

One input (node 0), nodes ``1..n`` each summing an edge from every earlier node (the benchmark:
3 nodes, 6 edges, in its string's order (0,1), (0,2), (1,2), (0,3), (1,3), (2,3), which is also
xautodl's sorted ``edge2index``), the output the last node. One architecture-parameter set,
``normal``, shared by every searched cell: the benchmark has no reduction cell type (its
reductions are fixed residual blocks). The network is the benchmark's
(:mod:`factorspace.compile.nb201`, :mod:`factorspace.retrain.nb201`).

Derivation keeps every edge and takes, per edge, the argmax over all operations, ``none``
included (xautodl's ``genotype()``): in a factorized space each factor's argmax (the operation
kind, then e.g. the kernel size if the chosen kind takes it), in the joint mode the argmax
candidate; ties go to the first choice.

Its genotypes convert to and from the benchmark's cell strings
(:mod:`factorspace.cells.nb201_strings`, re-exported here: :func:`to_nb201_string`,
:func:`from_nb201_string`). A search whose every derivable cell is in the benchmark's table (3 nodes, the benchmark's
operations) records each epoch's cell string and its trained accuracies
(:meth:`NB201Family.epoch_metrics`): ``nb201_arch``, ``nb201_cifar10``, ``nb201_cifar100``,
``nb201_imagenet16_120`` (%, :mod:`factorspace.evidence.nb201`).
"""

from __future__ import annotations

from typing import Any

from factorspace.cells.base import CellFamily, Rows, register_cell_family
from factorspace.cells.nb201_strings import (
    edge_operation,
    from_nb201_string,
    is_nb201_space,
    nb201_operations,
    to_nb201_string,
)
from factorspace.compile.nb201 import NB201Supernet
from factorspace.errors import FactorspaceError, FieldError
from factorspace.evidence import nb201
from factorspace.genotype.check import (
    check_edge_choices,
    check_registered,
    check_source_precedes_target,
    nodes_without_input,
)
from factorspace.genotype.model import GenotypeCell, GenotypeEdge
from factorspace.retrain.nb201 import build_nb201_network
from factorspace.schema.cell import NB201CellConfig
from factorspace.schema.network import NB201SupernetConfig
from factorspace.schema.space import ArgumentFactor

__all__ = [
    "NB201Family",
    "edge_operation",
    "from_nb201_string",
    "is_nb201_space",
    "nb201_operations",
    "to_nb201_string",
]

METRIC_PREFIX = "nb201_"


@register_cell_family("nb201", cell=NB201CellConfig, supernet=NB201SupernetConfig)
class NB201Family(CellFamily):
    # ---- derivation ---------------------------------------------------------------------------
    def derive_cell(self, space, rows: Rows, edge_row, max_skip_connects) -> GenotypeCell:
        if edge_row is not None or max_skip_connects is not None:
            raise FactorspaceError(
                "an nb201 cell keeps every edge: no edge weights, no skip-connect cap"
            )
        choose = _choose_joint if space.mode == "joint" else _choose_factorized
        edges = [
            GenotypeEdge(source=s, target=t, **choose(space, rows, k))
            for k, (s, t) in enumerate(space.edge_list())
        ]
        return GenotypeCell(edges=edges, concat=[space.nodes])

    # ---- genotypes ----------------------------------------------------------------------------
    def check_cell_structure(self, cell: GenotypeCell, loc: tuple, registered: bool) -> None:
        """Edges from earlier to later nodes (``none`` ones allowed), every node 1..last fed,
        ``concat`` the last node (the cell's output)."""
        if not cell.edges:
            raise FieldError((*loc, "edges"), "a cell needs at least one edge")
        for i, edge in enumerate(cell.edges):
            check_source_precedes_target(edge, (*loc, "edges", i))
            if registered:
                check_registered(edge, (*loc, "edges", i), zero=True)
        last = max(e.target for e in cell.edges)
        missing = nodes_without_input(cell, last, first=1)
        if missing:
            shown = ", ".join(map(str, missing))
            raise FieldError((*loc, "edges"), f"nodes [{shown}] have no incoming edge")
        if cell.concat != [last]:
            raise FieldError(
                (*loc, "concat"),
                f"{cell.concat}: an nb201 cell outputs its last node; concat must be [{last}]",
            )

    def check_cell_fits(self, cell: GenotypeCell, space, loc: tuple) -> None:
        """Every edge of the space's cell once (``none`` ones too), each a choice of the space."""
        wanted = space.edge_list()
        seen = set()
        for i, edge in enumerate(cell.edges):
            where = (*loc, "edges", i)
            if edge.target > space.nodes:
                raise FieldError(
                    (*where, "target"),
                    f"no node {edge.target}: the nodes are 1..{space.nodes} "
                    f"(cell.nodes = {space.nodes})",
                )
            check_source_precedes_target(edge, where)
            if (edge.source, edge.target) in seen:
                raise FieldError(
                    where, f"a second edge from node {edge.source} to node {edge.target}"
                )
            seen.add((edge.source, edge.target))
            check_edge_choices(edge, space, where, zero=True)
        absent = [e for e in wanted if e not in seen]
        if absent:
            raise FieldError(
                (*loc, "edges"),
                f"no edge {', '.join(f'{s}->{t}' for s, t in absent)}: an nb201 cell keeps every "
                "edge (write `op: none` for no connection)",
            )
        if cell.concat != [space.nodes]:
            raise FieldError(
                (*loc, "concat"),
                f"concat must be the last node [{space.nodes}], got {cell.concat}",
            )

    # ---- networks -----------------------------------------------------------------------------
    def build_supernet(self, space, config, relaxations):
        return NB201Supernet(space, config, relaxations)

    def build_network(self, genotype, **sizes: Any):
        """The benchmark's network: ``channels`` (16), ``cells_per_stage`` (5), ``classes``
        (10), ``in_channels`` (3)."""
        return build_nb201_network(genotype, **sizes)

    # ---- a search's records -------------------------------------------------------------------
    def epoch_metrics(self, space, genotype) -> dict[str, Any]:
        """The derived cell's benchmark string and trained test accuracies (%), when the space's
        every cell is in the table; else nothing."""
        if not is_nb201_space(space):
            return {}
        arch = to_nb201_string(genotype)
        record = nb201.load_table().lookup(arch)
        row: dict[str, Any] = {f"{METRIC_PREFIX}arch": arch}
        for dataset in nb201.DATASETS:
            row[f"{METRIC_PREFIX}{dataset}"] = record.accuracy(dataset)
        return row

    def summary_line(self, space, genotype) -> str | None:
        """``derived cell |...|: NB201 CIFAR-10 94.37 % (rank 1 of 15,625), CIFAR-100 ...``, then
        what it stands beside: a uniformly drawn cell's mean and median, and the best cell."""
        if not is_nb201_space(space):
            return None
        table = nb201.load_table()
        arch = to_nb201_string(genotype)
        record = table.lookup(arch)
        parts = [
            f"{nb201.DATASET_NAMES[d]} {record.accuracy(d):.2f} % "
            f"(rank {table.rank(arch, dataset=d):,} of {len(table):,})"
            for d in nb201.DATASETS
        ]
        random, best = table.random_cells("cifar10"), table.best("cifar10")
        beside = (
            f"beside it on CIFAR-10: a random cell {random.mean:.2f} % on average (median "
            f"{random.percentiles[50]:.2f}, 90th percentile {random.percentiles[90]:.2f}), the "
            f"best cell {best.cifar10:.2f} %"
        )
        return f"derived cell {arch}: NB201 " + ", ".join(parts) + "\n" + beside


def _choose_factorized(space, rows: Rows, k: int) -> dict[str, Any]:
    """Edge ``k``: the operator factor's argmax (all choices, ``none`` too), then the argmax of
    each factor that applies to that operator (a fixed factor: its only choice)."""
    op_factor = space.config.operator
    op = op_factor.choices[_argmax(rows.get(op_factor.name), k)]
    inputs = {f.name: f.choices[_argmax(rows.get(f.name), k)] for f in space.input_factors(op)}
    arguments = {
        f.argument: f.choices[_argmax(rows.get(f.name), k)] for f in space.argument_factors(op)
    }
    return {"op": op, "inputs": inputs, "arguments": arguments}


def _choose_joint(space, rows: Rows, k: int) -> dict[str, Any]:
    """Edge ``k``: the argmax candidate of the one joint softmax, ``none`` included."""
    (group,) = space.groups
    c = space.candidates[_argmax(rows[group], k)]
    keyword = {f.name: f.argument for f in space.config.factors if isinstance(f, ArgumentFactor)}
    return {
        "op": c.op,
        "inputs": dict(c.inputs),
        "arguments": {keyword[f]: v for f, v in c.arguments},
    }


def _argmax(rows: list[list[float]] | None, k: int) -> int:
    """The first strongest choice of edge ``k`` (as ``torch.argmax``); a fixed factor: 0."""
    if rows is None:
        return 0
    row = rows[k]
    return max(range(len(row)), key=row.__getitem__)
