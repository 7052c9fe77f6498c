"""How much of a planted genotype a search recovered, factor by factor, beside chance.

Three scores per cell, over the edges the planted genotype keeps:

- ``operator``: the found operator on each planted edge equals the planted one;
- ``inputs``: which inputs each node keeps (the overlap of the two ``keep``-subsets);
- one per other searched factor (e.g. ``activation``): the found choice equals the planted one,
  counted only on planted edges whose operator was recovered and to which the factor applies.

The operator (and factor) found on a planted edge is the derived genotype's where it kept that
edge, and otherwise what DARTS's rule would give that edge from the architecture weights
(:func:`edge_picks`), so the operator score does not depend on the input score. Chance is the
score of a genotype drawn as :func:`~factorspace.evidence.draw.draw_genotype` draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from factorspace.derive import RULES
from factorspace.evidence.draw import non_zero_operators
from factorspace.genotype import CELL_TYPES, Genotype, GenotypeCell
from factorspace.space import Space

OPERATOR, INPUTS = "operator", "inputs"

Pick = tuple[str, dict[str, Any]]  # (operator, other factor -> choice)
Picks = dict[str, list[Pick]]  # cell type -> one pick per edge, in space.edge_list() order


@dataclass(frozen=True)
class FactorScore:
    matched: int
    total: int
    chance: float

    @property
    def recovered(self) -> float:
        return self.matched / self.total if self.total else math.nan


def scored_factors(space: Space) -> list[str]:
    """``operator``, ``inputs``, then every other factor with more than one choice."""
    op = space.config.operator
    others = [f.name for f in space.config.factors if f is not op and len(f.choices) > 1]
    return [OPERATOR, INPUTS, *others]


def chance_levels(space: Space) -> dict[str, float]:
    """Each score's expectation for a uniformly drawn genotype (the same for every cell).

    Operator: 1 / the non-zero operators. Inputs: a node with ``n`` inputs keeps ``k``; two
    uniform ``k``-subsets share ``k * k / n`` inputs on average, so ``k / n``, averaged over the
    nodes (each keeps ``k``). A factor: 1 / its choices.
    """
    k = space.keep
    levels = {
        OPERATOR: 1 / len(non_zero_operators(space)),
        INPUTS: sum(k / n for n in range(2, space.nodes + 2)) / space.nodes,
    }
    for name in scored_factors(space)[2:]:
        levels[name] = 1 / len(space.config.factor(name).choices)
    return levels


def edge_picks(space: Space, weights: Mapping[str, Mapping[str, Any]]) -> Picks:
    """Per cell and edge, the operator and factor choices DARTS's rule gives it from ``weights``
    (``Supernet.arch_probabilities()``), whether or not derivation keeps the edge."""
    picks = {}
    for cell in CELL_TYPES:
        rows = {g: _as_list(w) for g, w in weights[cell].items()}
        rule = RULES[space.mode](space, rows)
        picks[cell] = [_pick(*rule.choose(k, set())) for k in range(space.edges_per_cell)]
    return picks


def score_genotype(
    space: Space,
    planted: Genotype,
    found: Genotype,
    *,
    picks: Picks | None = None,
    cells: Iterable[str] = CELL_TYPES,
) -> dict[str, FactorScore]:
    """The scores of ``found`` against ``planted`` over ``cells`` (the cell types the network
    uses), with ``picks`` for the planted edges ``found`` did not keep (none: not matched)."""
    counts = {name: [0, 0] for name in scored_factors(space)}
    for cell in cells:
        cell_picks = None if picks is None else picks[cell]
        for name, (matched, total) in _cell_counts(space, planted, found, cell, cell_picks).items():
            counts[name][0] += matched
            counts[name][1] += total
    chance = chance_levels(space)
    return {name: FactorScore(m, t, chance[name]) for name, (m, t) in counts.items()}


def _cell_counts(
    space: Space, planted: Genotype, found: Genotype, cell: str, picks: list[Pick] | None
) -> dict[str, tuple[int, int]]:
    want, got = getattr(planted, cell), getattr(found, cell)
    counts = {name: [0, 0] for name in scored_factors(space)}
    for node in range(2, space.nodes + 2):
        kept = _sources(want, node)
        counts[INPUTS][0] += len(kept & _sources(got, node))
        counts[INPUTS][1] += len(kept)
    found_at = _found_edges(space, got, picks)
    for edge in want.edges:
        op, choices = _pick(edge.op, edge.inputs | edge.arguments)
        found_op, found_choices = found_at.get((edge.source, edge.target), (None, {}))
        counts[OPERATOR][0] += found_op == op
        counts[OPERATOR][1] += 1
        if found_op != op:
            continue
        for name in scored_factors(space)[2:]:
            key = _choice_key(space, name)
            if key in choices:
                counts[name][0] += found_choices.get(key) == choices[key]
                counts[name][1] += 1
    return {name: (m, t) for name, (m, t) in counts.items()}


def _found_edges(space: Space, cell: GenotypeCell, picks: list[Pick] | None) -> dict:
    """(source, target) -> the found pick: the genotype's kept edges over the weights' picks."""
    found = {} if picks is None else dict(zip(space.edge_list(), picks, strict=True))
    for edge in cell.edges:
        found[(edge.source, edge.target)] = _pick(edge.op, edge.inputs | edge.arguments)
    return found


def _choice_key(space: Space, name: str) -> str:
    """The key a factor's choice has in a genotype edge: its name (input) or keyword (argument)."""
    factor = space.config.factor(name)
    return getattr(factor, "argument", name)


def _sources(cell: GenotypeCell, node: int) -> set[int]:
    return {e.source for e in cell.edges if e.target == node}


def _pick(op: str, *choices: Mapping[str, Any]) -> Pick:
    merged: dict[str, Any] = {}
    for c in choices:
        merged |= dict(c)
    return op, merged


def _as_list(value: Any) -> list:
    value = value.detach().cpu() if hasattr(value, "detach") else value
    return value.tolist() if hasattr(value, "tolist") else [list(r) for r in value]
