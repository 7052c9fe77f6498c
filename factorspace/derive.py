"""Derive a discrete genotype from architecture weights: DARTS's rule, over any number of factors.

Each cell type of the space's family (:mod:`factorspace.cells`) is derived by the family's rule;
this module holds DARTS's (the ``darts`` family's), described here, and the checks of the
weights' shapes that every family shares.

The rule of Liu et al. 2019 (``model_search.Network.genotype``): for each intermediate node, rank
its incoming edges by their strongest non-zero operator weight and keep the first ``cell.keep``,
in that order; each kept edge takes its strongest non-zero operator. Here each kept edge also
takes, for every other factor that applies to that operator, that factor's strongest choice (a
fixed factor: its only choice). In the joint mode, candidates stand in for operators: edges are
ranked by their strongest non-zero candidate, which brings its inputs and arguments along.

"Zero" is the operator tagged ``zero`` in the registry (DARTS's ``none``), never a name. Ties go
to the earlier edge and the earlier choice, as in DARTS.

Two options change the rule. ``edge_weights`` (PC-DARTS's edge normalisation) multiply each
edge's operator weights by the edge's normalised weight before edges are ranked, as PC-DARTS's
``genotype()`` does. ``max_skip_connects`` (P-DARTS) keeps at most that many skip-connects (the
operators tagged ``skip``) in the normal cell: while there are more, the kept skip-connect with
the lowest weight (times its edge weight, if any) loses the skip on its edge, which then takes
its next-best operator (never zero), and the node's edges are ranked again, as P-DARTS's
``delete_min_sk_prob`` / ``keep_1_on`` / ``keep_2_branches`` loop does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype, GenotypeCell, GenotypeEdge
from factorspace.genotype.model import DEFAULT_FAMILY
from factorspace.registry import OPERATORS
from factorspace.schema.space import ArgumentFactor, SpaceConfig
from factorspace.space import Space

Rows = list[list[float]]


def derive_genotype(
    supernet: Any,
    *,
    max_skip_connects: int | None = None,
    name: str | None = None,
    source: str | None = None,
) -> Genotype:
    """The genotype a search supernet encodes now, by DARTS's rule.

    Args:
        supernet: a :class:`~factorspace.compile.Supernet` (anything with ``space`` and
            ``arch_probabilities()``, the relaxations' probabilities (DARTS: the softmax; older
            objects: ``arch_weights()``); its ``edge_weights()``, when it has them, rank the
            edges).
        max_skip_connects: keep at most this many skip-connects in the normal cell (P-DARTS).
        name: recorded in the genotype.
        source: recorded in the genotype (e.g. the run directory and epoch).

    Example::

        genotype = derive_genotype(net, name="adarts", source="runs/adarts epoch 50")
    """
    edge_weights = getattr(supernet, "edge_weights", lambda: None)()
    probabilities = getattr(supernet, "arch_probabilities", None) or supernet.arch_weights
    return derive_from_weights(
        supernet.space,
        probabilities(),
        edge_weights=edge_weights,
        max_skip_connects=max_skip_connects,
        name=name,
        source=source,
    )


def derive_from_weights(
    space: Space | SpaceConfig,
    weights: Mapping[str, Mapping[str, Any]],
    *,
    edge_weights: Mapping[str, Any] | None = None,
    max_skip_connects: int | None = None,
    name: str | None = None,
    source: str | None = None,
) -> Genotype:
    """The genotype of saved architecture weights, by DARTS's rule.

    Args:
        space: the space the weights belong to.
        weights: ``{"normal" | "reduce": {group: [edges, choices]}}`` of probabilities (torch
            tensors, numpy arrays or nested lists), as ``Supernet.arch_probabilities()``
            returns: one entry per architecture group (``space.groups``: the searched factors,
            or ``"joint"`` in the joint mode); fixed factors are absent.
        edge_weights: ``{"normal" | "reduce": [edges]}``, each edge's weight normalised over its
            node's inputs (``Supernet.edge_weights()``): edges are ranked by operator weight
            times edge weight (PC-DARTS). ``None``: unweighted (DARTS).
        max_skip_connects: keep at most this many skip-connects in the normal cell, replacing
            the weakest by their edge's next-best operator (P-DARTS). ``None``: no cap.

    Raises:
        FactorspaceError: when the weights do not match the space's factors and shapes, or the
            skip-connect cap cannot be met (an edge with nothing but zero and skip operators).
    """
    if isinstance(space, SpaceConfig):
        space = Space(space)
    family = space.family
    cells = {
        t: family.derive_cell(
            space,
            _rows(space, weights, t),
            None if edge_weights is None else _edge_row(space, edge_weights, t),
            max_skip_connects if t == "normal" else None,
        )
        for t in family.cell_types
    }
    named = {} if family.name == DEFAULT_FAMILY else {"family": family.name}
    return Genotype(name=name, source=source, **named, **cells)


def skip_count(cell: GenotypeCell) -> int:
    """Edges of ``cell`` whose operator is tagged ``skip`` (DARTS's ``skip_connect``)."""
    return sum("skip" in OPERATORS.get(e.op).tags for e in cell.edges)


def derive_darts_cell(
    space: Space, rows: dict[str, Rows], edge_row: list[float] | None, max_skips: int | None
) -> GenotypeCell:
    """One DARTS cell by the rule above (the darts family's :meth:`derive_cell`)."""
    rule = RULES[space.mode](space, rows)
    scale = edge_row or [1.0] * space.edges_per_cell
    no_skip: set[int] = set()  # edges whose skip-connect the cap took away (P-DARTS)
    while True:
        kept = _keep_edges(space, rule, scale, no_skip)
        skips = [k for k, _, _ in kept if rule.is_skip(k, no_skip)]
        if max_skips is None or len(skips) <= max_skips:
            break
        # the weakest kept skip-connect, the first edge of equal ones (P-DARTS's argmin)
        no_skip.add(min(sorted(skips), key=lambda k: rule.strength(k, no_skip) * scale[k]))
    edges = []
    for k, source, target in kept:
        op, inputs, arguments = rule.choose(k, no_skip)
        edges.append(
            GenotypeEdge(source=source, target=target, op=op, inputs=inputs, arguments=arguments)
        )
    return GenotypeCell(edges=edges, concat=list(range(2, space.nodes + 2)))


def _keep_edges(
    space: Space, rule, scale: list[float], no_skip: set[int]
) -> list[tuple[int, int, int]]:
    """(edge index, source, target) of the kept edges, node by node, strongest first."""
    kept, offset = [], 0
    for node in range(2, space.nodes + 2):  # node t has inputs 0..t-1: t edges
        live = [j for j in range(node) if rule.allowed(offset + j, no_skip)]
        if len(live) < space.keep:
            raise FactorspaceError(
                f"cannot keep {space.keep} inputs of node {node} without skip-connects: its "
                "other edges have only zero or skip operators; raise search.max_skip_connects"
            )
        strength = {j: rule.strength(offset + j, no_skip) * scale[offset + j] for j in live}
        # Stable, so equal strengths keep source order: DARTS's sorted(key=-w).
        for j in sorted(live, key=strength.__getitem__, reverse=True)[: space.keep]:
            kept.append((offset + j, j, node))
        offset += node
    return kept


def _argmax(row: list[float], allowed: list[int]) -> int:
    return max(allowed, key=row.__getitem__)  # the first of equal maxima, as DARTS


class _Rule:
    """What both modes share: which indices of the ranked axis (operators, or joint candidates)
    are zero or skip, given each one's operator tags."""

    def __init__(self, space: Space, tags: list[frozenset[str]]) -> None:
        self.kept = _non_zero(tags, space)
        self.skip = {i for i, t in enumerate(tags) if "skip" in t}
        self.kept_no_skip = [i for i in self.kept if i not in self.skip]

    def candidates(self, edge: int, no_skip: set[int]) -> list[int]:
        """The indices an edge may take: non-zero, and not skip once the cap took it away."""
        return self.kept_no_skip if edge in no_skip else self.kept

    def allowed(self, edge: int, no_skip: set[int]) -> bool:
        return bool(self.candidates(edge, no_skip))


class _FactorizedRule(_Rule):
    """One softmax per factor: rank by the operator factor, then each applicable factor's argmax."""

    def __init__(self, space: Space, rows: dict[str, Rows]) -> None:
        self.space, self.rows = space, rows
        self.op_factor = space.config.operator
        super().__init__(space, [OPERATORS.get(op).tags for op in self.op_factor.choices])

    def strength(self, edge: int, no_skip: set[int]) -> float:
        row = self.rows.get(self.op_factor.name)
        return 1.0 if row is None else max(row[edge][k] for k in self.candidates(edge, no_skip))

    def is_skip(self, edge: int, no_skip: set[int]) -> bool:
        return self._pick_index(edge, no_skip) in self.skip

    def choose(self, edge: int, no_skip: set[int]) -> tuple[str, dict, dict]:
        op = self.op_factor.choices[self._pick_index(edge, no_skip)]
        inputs = {f.name: self._pick(f, edge) for f in self.space.input_factors(op)}
        arguments = {f.argument: self._pick(f, edge) for f in self.space.argument_factors(op)}
        return op, inputs, arguments

    def _pick_index(self, edge: int, no_skip: set[int]) -> int:
        rows, allowed = self.rows.get(self.op_factor.name), self.candidates(edge, no_skip)
        return allowed[0] if rows is None else _argmax(rows[edge], allowed)

    def _pick(self, factor, edge: int, allowed: list[int] | None = None) -> Any:
        rows = self.rows.get(factor.name)
        allowed = list(range(len(factor.choices))) if allowed is None else allowed
        return factor.choices[allowed[0] if rows is None else _argmax(rows[edge], allowed)]


class _JointRule(_Rule):
    """One softmax over every candidate: rank by and take the strongest non-zero candidate."""

    def __init__(self, space: Space, rows: dict[str, Rows]) -> None:
        (group,) = space.groups  # one group: every candidate
        self.all, self.rows = space.candidates, rows[group]
        super().__init__(space, [OPERATORS.get(c.op).tags for c in self.all])
        self.keyword = {
            f.name: f.argument for f in space.config.factors if isinstance(f, ArgumentFactor)
        }

    def strength(self, edge: int, no_skip: set[int]) -> float:
        return max(self.rows[edge][k] for k in self.candidates(edge, no_skip))

    def is_skip(self, edge: int, no_skip: set[int]) -> bool:
        return _argmax(self.rows[edge], self.candidates(edge, no_skip)) in self.skip

    def choose(self, edge: int, no_skip: set[int]) -> tuple[str, dict, dict]:
        c = self.all[_argmax(self.rows[edge], self.candidates(edge, no_skip))]
        return c.op, dict(c.inputs), {self.keyword[f]: v for f, v in c.arguments}


RULES: dict[str, type[_Rule]] = {"factorized": _FactorizedRule, "joint": _JointRule}
"""``space.mode`` -> the rule that reads its groups (the schema's ``mode`` values)."""


def _non_zero(tags: list[frozenset[str]], space: Space) -> list[int]:
    kept = [i for i, t in enumerate(tags) if "zero" not in t]
    if not kept:
        raise FactorspaceError(
            f"factor {space.operator_name!r} has only zero operators: no edge can be kept"
        )
    return kept


def _edge_row(space: Space, edge_weights: Mapping[str, Any], cell_type: str) -> list[float]:
    """``edge_weights[cell_type]`` as a list of floats, one per edge, checked against the space."""
    if cell_type not in edge_weights:
        raise FactorspaceError(
            f"the edge weights have no {cell_type!r} cell; expected {', '.join(space.cell_types)}"
        )
    value = edge_weights[cell_type]
    value = value.detach() if hasattr(value, "detach") else value
    value = value.tolist() if hasattr(value, "tolist") else list(value)
    if len(value) != space.edges_per_cell or any(isinstance(v, list) for v in value):
        raise FactorspaceError(
            f"edge_weights[{cell_type!r}] must be {space.edges_per_cell} numbers, one per edge"
        )
    return [float(v) for v in value]


def _rows(space: Space, weights: Mapping[str, Mapping[str, Any]], cell_type: str) -> dict:
    """``weights[cell_type]`` as plain nested lists, checked against the space's shapes."""
    if cell_type not in weights:
        raise FactorspaceError(
            f"the weights have no {cell_type!r} cell; expected {', '.join(space.cell_types)}"
        )
    given = weights[cell_type]
    expected = space.searched_factors
    unknown = [f for f in given if f not in expected]
    missing = [f for f in expected if f not in given]
    if unknown or missing:
        raise FactorspaceError(
            f"weights[{cell_type!r}] has factors {list(given)}; the space searches {expected}"
            " (fixed factors have no weights)"
        )
    rows = {}
    for factor in expected:
        value = given[factor]
        value = value.detach() if hasattr(value, "detach") else value
        value = value.tolist() if hasattr(value, "tolist") else [list(r) for r in value]
        shape = [space.edges_per_cell, space.arch_width(factor)]
        if len(value) != shape[0] or any(
            not isinstance(r, list) or len(r) != shape[1] for r in value
        ):
            got = [len(value), *sorted({len(r) for r in value if isinstance(r, list)})]
            raise FactorspaceError(
                f"weights[{cell_type!r}][{factor!r}] has shape {got}; the space needs {shape} "
                "(edges x choices)"
            )
        rows[factor] = value
    return rows
