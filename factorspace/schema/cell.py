"""``space.cell``: the cell family and its shape, one member per family, chosen by ``kind``.

- ``kind: darts`` (the default when ``kind`` is absent): DARTS's cell (Liu et al. 2019), two
  inputs, ``nodes`` intermediate nodes each fed by every earlier node, ``keep`` edges kept per
  node at derivation, output the concat of the intermediate nodes; a normal and a reduction type.
- ``kind: nb201``: NAS-Bench-201's cell (Dong & Yang, ICLR 2020), one input (node 0), nodes
  ``1..nodes`` each summing an edge from every earlier node, every edge kept, output the last node;
  one cell type.

A member also holds its cell's shape as data, so that every layer can read it without the
family's code: ``cell_types`` (the architecture-parameter sets), ``input_nodes``,
:meth:`edge_list` and :meth:`cell_size`. A family adds its member with :func:`cell_member`
(:func:`factorspace.cells.register_cell_family` does it with the family's behaviour); see
:mod:`factorspace.schema.kinds` for how ``kind`` dispatches.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, SerializeAsAny, StrictInt, WrapValidator, model_validator

from factorspace.errors import FieldError
from factorspace.registry import Registry
from factorspace.schema.kinds import (
    DEFAULT_FAMILY,
    KindMember,
    KindSchema,
    dispatch,
    kind_member,
)

if TYPE_CHECKING:
    from factorspace.space import Space

MAX_NODES = 32  # far above DARTS's 4; the edges per cell grow as nodes**2 / 2

CELL_CONFIGS: Registry[type[KindMember]] = Registry("cell family")


def cell_member(model):
    """Register ``model`` (a ``space.cell`` member, ``kind: Literal[name] = name``)."""
    return kind_member(CELL_CONFIGS, model)


def _is_default(kind: str) -> bool:
    return kind == DEFAULT_FAMILY


@cell_member
class CellConfig(KindMember):
    """A DARTS cell: two input nodes, ``nodes`` intermediate nodes, ``keep`` edges kept per node."""

    kind: Literal["darts"] = Field(
        "darts",
        exclude_if=_is_default,  # dumps stay as they were before families: no `kind: darts`
        description="the cell family: darts (the default)",
    )
    nodes: StrictInt = Field(
        4, ge=1, le=MAX_NODES, description=f"intermediate nodes (DARTS: 4; at most {MAX_NODES})"
    )
    keep: StrictInt = Field(
        2, ge=1, description="incoming edges kept per node at derivation (DARTS: 2)"
    )

    cell_types: ClassVar[tuple[str, ...]] = ("normal", "reduce")
    input_nodes: ClassVar[int] = 2  # c_{k-2}, c_{k-1}

    def edge_list(self) -> list[tuple[int, int]]:
        """Node ``i + 2`` takes an edge from each of nodes ``0..i+1``: 14 edges for 4 nodes."""
        return [(j, i + 2) for i in range(self.nodes) for j in range(i + 2)]

    def cell_size(self, space: Space) -> int:
        """Per node, ``keep`` distinct inputs, each edge one non-``none`` candidate."""
        per_edge = space.kept_choices_per_edge
        total = 1
        for i in range(self.nodes):
            total *= math.comb(i + 2, self.keep) * per_edge**self.keep
        return total

    @model_validator(mode="after")
    def _keep_fits(self) -> CellConfig:
        if self.keep > 2:
            raise FieldError(
                ("keep",), f"keep={self.keep} but the first intermediate node has only 2 inputs"
            )
        return self


@cell_member
class NB201CellConfig(KindMember):
    """A NAS-Bench-201 cell: input node 0, nodes ``1..nodes``, an edge from every earlier node to
    every later one (the benchmark: 3 nodes, 6 edges), each node the sum of its edges, the output
    the last node; every edge kept at derivation, ``none`` included."""

    kind: Literal["nb201"] = Field("nb201", description="the cell family: nb201")
    nodes: StrictInt = Field(
        3,
        ge=1,
        le=MAX_NODES,
        description=f"nodes after the input (NAS-Bench-201: 3; at most {MAX_NODES})",
    )

    cell_types: ClassVar[tuple[str, ...]] = ("normal",)  # one set, shared by every cell
    input_nodes: ClassVar[int] = 1

    def edge_list(self) -> list[tuple[int, int]]:
        """Node ``t`` (1..n) takes an edge from each of nodes ``0..t-1``, in source order: the
        benchmark's string order (0,1), (0,2), (1,2), (0,3)..., xautodl's sorted ``edge2index``."""
        return [(j, t) for t in range(1, self.nodes + 1) for j in range(t)]

    def cell_size(self, space: Space) -> int:
        """Every edge one candidate, ``none`` included: 5^6 = 15,625 for the benchmark's space,
        factorized (kind x kernel) or joint alike."""
        return len(space.candidates) ** len(self.edge_list())

    def check_recipe(self, recipe) -> None:
        """The rules a recipe with this cell obeys besides its own fields (called by
        :class:`~factorspace.schema.recipe.Recipe`); raises :class:`FieldError` at the field."""
        if recipe.search.max_skip_connects is not None:
            raise FieldError(
                ("search", "max_skip_connects"),
                "P-DARTS's cap replaces skip-connects among a DARTS cell's kept edges; an nb201 "
                "cell keeps every edge (none included): leave it unset",
            )


AnyCell = Annotated[
    SerializeAsAny[CellConfig | NB201CellConfig],
    WrapValidator(dispatch(CELL_CONFIGS, "cell family")),
    KindSchema("darts", "nb201"),
]
"""A ``space.cell`` value; the JSON Schema shows the shipped members."""
