"""Derive a discrete genotype from architecture weights: DARTS's rule, over any number of factors.

The rule of Liu et al. 2019 (``model_search.Network.genotype``): for each intermediate node, rank
its incoming edges by their strongest non-zero operator weight and keep the first ``cell.keep``,
in that order; each kept edge takes its strongest non-zero operator. Here each kept edge also
takes, for every other factor that applies to that operator, that factor's strongest choice (a
fixed factor: its only choice). In the joint mode, candidates stand in for operators: edges are
ranked by their strongest non-zero candidate, which brings its inputs and arguments along.

"Zero" is the operator tagged ``zero`` in the registry (DARTS's ``none``), never a name. Ties go
to the earlier edge and the earlier choice, as in DARTS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factorspace.compile.candidates import Space
from factorspace.errors import FactorspaceError
from factorspace.genotype import CELL_TYPES, Genotype, GenotypeCell, GenotypeEdge
from factorspace.registry import OPERATORS
from factorspace.schema.space import ArgumentFactor, SpaceConfig

Rows = list[list[float]]


def derive_genotype(
    supernet: Any, *, name: str | None = None, source: str | None = None
) -> Genotype:
    """The genotype a search supernet encodes now, by DARTS's rule.

    Args:
        supernet: a :class:`~factorspace.compile.Supernet` (anything with ``space`` and
            ``arch_weights()``).
        name, source: recorded in the genotype.

    Example::

        genotype = derive_genotype(net, name="adarts", source="runs/adarts epoch 50")
    """
    return derive_from_weights(supernet.space, supernet.arch_weights(), name=name, source=source)


def derive_from_weights(
    space: Space | SpaceConfig,
    weights: Mapping[str, Mapping[str, Any]],
    *,
    name: str | None = None,
    source: str | None = None,
) -> Genotype:
    """The genotype of saved architecture weights, by DARTS's rule.

    Args:
        space: the space the weights belong to.
        weights: ``{"normal" | "reduce": {factor: [edges, choices]}}`` of softmax weights (torch
            tensors, numpy arrays or nested lists), as ``Supernet.arch_weights()`` returns:
            one entry per searched factor (``"joint"`` in the joint mode); fixed factors are
            absent.

    Raises:
        FactorspaceError: when the weights do not match the space's factors and shapes.
    """
    if isinstance(space, SpaceConfig):
        space = Space(space)
    cells = {t: _derive_cell(space, _rows(space, weights, t)) for t in CELL_TYPES}
    return Genotype(name=name, source=source, **cells)


def _derive_cell(space: Space, rows: dict[str, Rows]) -> GenotypeCell:
    rule = _JointRule(space, rows) if space.mode == "joint" else _FactorizedRule(space, rows)
    edges, offset = [], 0
    for node in range(2, space.nodes + 2):  # node t has inputs 0..t-1: t edges
        strength = [rule.strength(offset + j) for j in range(node)]
        # Stable, so equal strengths keep source order: DARTS's sorted(key=-w).
        for j in sorted(range(node), key=strength.__getitem__, reverse=True)[: space.keep]:
            op, inputs, arguments = rule.choose(offset + j)
            edges.append(
                GenotypeEdge(source=j, target=node, op=op, inputs=inputs, arguments=arguments)
            )
        offset += node
    return GenotypeCell(edges=edges, concat=list(range(2, space.nodes + 2)))


def _argmax(row: list[float], allowed: list[int]) -> int:
    return max(allowed, key=row.__getitem__)  # the first of equal maxima, as DARTS


class _FactorizedRule:
    """One softmax per factor: rank by the operator factor, then each applicable factor's argmax."""

    def __init__(self, space: Space, rows: dict[str, Rows]) -> None:
        self.space, self.rows = space, rows
        self.op_factor = space.config.operator
        self.kept = _non_zero([OPERATORS.get(op).tags for op in self.op_factor.choices], space)

    def strength(self, edge: int) -> float:
        row = self.rows.get(self.op_factor.name)
        return 1.0 if row is None else max(row[edge][k] for k in self.kept)

    def choose(self, edge: int) -> tuple[str, dict, dict]:
        op = self._pick(self.op_factor, edge, self.kept)
        inputs = {f.name: self._pick(f, edge) for f in self.space.input_factors(op)}
        arguments = {f.argument: self._pick(f, edge) for f in self.space.argument_factors(op)}
        return op, inputs, arguments

    def _pick(self, factor, edge: int, allowed: list[int] | None = None) -> Any:
        rows = self.rows.get(factor.name)
        allowed = list(range(len(factor.choices))) if allowed is None else allowed
        return factor.choices[allowed[0] if rows is None else _argmax(rows[edge], allowed)]


class _JointRule:
    """One softmax over every candidate: rank by and take the strongest non-zero candidate."""

    def __init__(self, space: Space, rows: dict[str, Rows]) -> None:
        self.candidates, self.rows = space.candidates, rows["joint"]
        self.kept = _non_zero([OPERATORS.get(c.op).tags for c in self.candidates], space)
        self.keyword = {
            f.name: f.argument for f in space.config.factors if isinstance(f, ArgumentFactor)
        }

    def strength(self, edge: int) -> float:
        return max(self.rows[edge][k] for k in self.kept)

    def choose(self, edge: int) -> tuple[str, dict, dict]:
        c = self.candidates[_argmax(self.rows[edge], self.kept)]
        return c.op, dict(c.inputs), {self.keyword[f]: v for f, v in c.arguments}


def _non_zero(tags: list[frozenset[str]], space: Space) -> list[int]:
    kept = [i for i, t in enumerate(tags) if "zero" not in t]
    if not kept:
        raise FactorspaceError(
            f"factor {space.operator_name!r} has only zero operators: no edge can be kept"
        )
    return kept


def _rows(space: Space, weights: Mapping[str, Mapping[str, Any]], cell_type: str) -> dict:
    """``weights[cell_type]`` as plain nested lists, checked against the space's shapes."""
    if cell_type not in weights:
        raise FactorspaceError(
            f"the weights have no {cell_type!r} cell; expected {', '.join(CELL_TYPES)}"
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
