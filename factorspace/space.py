"""From a space to its candidates and its size. No torch here: pure bookkeeping.

A *candidate* is one discrete choice for an edge: an operator, the input transforms applied before
it (one choice per applicable input factor, in factor order) and the arguments handed to its
constructor. The factorized mode weights a candidate by the product of its factors' softmax
weights (eqs. 1-2, generalised to N factors); the joint mode gives every candidate its own weight.
Which it is, is data: :attr:`Space.groups` lists the architecture groups and their choices, and
the compiler and derivation read them (and pick their edge type and rule by ``mode``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from factorspace.registry import OPERATORS
from factorspace.schema.kinds import get_family
from factorspace.schema.space import (
    JOINT_GROUP,
    ArgumentFactor,
    InputFactor,
    SpaceConfig,
    applicable_operators,
)


@dataclass(frozen=True)
class Candidate:
    op: str
    inputs: tuple[tuple[str, str], ...] = ()  # (factor, activation), in factor order
    arguments: tuple[tuple[str, Any], ...] = ()  # (factor, value), in factor order
    keywords: tuple[str, ...] = ()  # each argument's constructor keyword (default: its factor)

    @property
    def is_zero(self) -> bool:
        return "zero" in OPERATORS.get(self.op).tags

    def choices(self) -> dict[str, Any]:
        """Factor name -> chosen value, for the factors that apply (the operator factor excluded)."""
        return dict(self.inputs) | dict(self.arguments)

    def constructor_arguments(self) -> dict[str, Any]:
        """The arguments as the operator's constructor takes them: keyword -> value."""
        keywords = self.keywords or tuple(f for f, _ in self.arguments)
        return {k: v for k, (_, v) in zip(keywords, self.arguments, strict=True)}

    def label(self) -> str:
        parts = [self.op, *(str(v) for _, v in self.arguments), *(a for _, a in self.inputs)]
        return "|".join(parts)


@dataclass(frozen=True)
class Space:
    """A validated :class:`SpaceConfig` with the derived facts the compiler and counters need."""

    config: SpaceConfig

    @property
    def mode(self) -> str:
        return self.config.mode

    @cached_property
    def operator_name(self) -> str:
        return self.config.operator.name

    @cached_property
    def factors_by_op(self) -> dict[str, list[InputFactor | ArgumentFactor]]:
        """Operator choice -> the non-operator factors that apply to it, in factor order."""
        op_factor = self.config.operator
        result: dict[str, list] = {op: [] for op in op_factor.choices}
        for f in self.config.factors:
            if f is op_factor:
                continue
            for op in applicable_operators(f, op_factor):
                result[op].append(f)
        return result

    def input_factors(self, op: str) -> list[InputFactor]:
        return [f for f in self.factors_by_op[op] if isinstance(f, InputFactor)]

    def argument_factors(self, op: str) -> list[ArgumentFactor]:
        return [f for f in self.factors_by_op[op] if isinstance(f, ArgumentFactor)]

    def candidates_of(self, op: str) -> list[Candidate]:
        """Every combination of the factors that apply to ``op`` (the paper's super-operators)."""
        ins, args = self.input_factors(op), self.argument_factors(op)
        result = []
        for in_choice in itertools.product(*(f.choices for f in ins)):
            for arg_choice in itertools.product(*(f.choices for f in args)):
                result.append(
                    Candidate(
                        op,
                        tuple(zip((f.name for f in ins), in_choice, strict=True)),
                        tuple(zip((f.name for f in args), arg_choice, strict=True)),
                        tuple(f.argument for f in args),
                    )
                )
        return result

    @cached_property
    def candidates(self) -> list[Candidate]:
        """All candidates of an edge, in operator order (the joint mode's softmax axis)."""
        return [c for op in self.config.operator.choices for c in self.candidates_of(op)]

    @cached_property
    def groups(self) -> dict[str, list[str]]:
        """Architecture group -> the labels of its choices, one parameter each per edge.

        Factorized: every factor with more than one choice (eqs. 1-2); joint: one group,
        ``joint``, of every candidate (the paper's non-factorized baseline).
        """
        if self.mode == "joint":
            return {JOINT_GROUP: [c.label() for c in self.candidates]}
        return {f: [str(c) for c in self.config.factor(f).choices] for f in self.config.group_names}

    @property
    def searched_factors(self) -> list[str]:
        """The architecture groups' names (:attr:`groups`), in order."""
        return list(self.groups)

    def arch_width(self, group: str) -> int:
        """Architecture parameters per edge for ``group`` (a fixed factor: 1)."""
        if group in self.groups:
            return len(self.groups[group])
        return len(self.config.factor(group).choices)

    @property
    def family(self):
        """The cell family (a :class:`factorspace.cells.CellFamily`) of ``space.cell.kind``: what
        derives, checks and builds its cells."""
        return get_family(self.config.cell.kind)

    @property
    def cell_types(self) -> tuple[str, ...]:
        """The cell types carrying architecture weights (DARTS: normal, reduce; NB201: one)."""
        return self.config.cell.cell_types

    @property
    def nodes(self) -> int:
        return self.config.cell.nodes

    @property
    def keep(self) -> int:
        """DARTS's cells: edges kept per node."""
        return self.config.cell.keep

    @cached_property
    def edges_per_cell(self) -> int:
        """Edges of one cell (DARTS, 4 nodes: 14; NB201, 3 nodes: 6)."""
        return len(self.edge_list())

    def edge_list(self) -> list[tuple[int, int]]:
        """(from, to) per edge, in the order of the architecture parameters' rows: DARTS's
        (inputs 0 and 1, intermediate nodes 2..), NB201's (input 0, nodes 1..)."""
        return self.config.cell.edge_list()

    @cached_property
    def kept_choices_per_edge(self) -> int:
        """Distinct non-``none`` candidates one kept edge can take."""
        return sum(1 for c in self.candidates if not c.is_zero)

    def cell_size(self) -> int:
        """Distinct discrete cells of one cell type, by the family's derivation rule (DARTS: per
        node, ``keep`` distinct inputs, each edge one non-``none`` candidate; NB201: every edge
        one candidate, ``none`` included)."""
        return self.config.cell.cell_size(self)

    def space_size(self) -> int:
        """Distinct architectures: one cell per cell type (DARTS: a normal times a reduction
        cell)."""
        return self.cell_size() ** len(self.cell_types)
