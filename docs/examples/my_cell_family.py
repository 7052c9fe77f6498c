"""A new cell family in one file: a chain of mixed edges, node t fed by node t - 1 alone.

The network around the cell is NAS-Bench-201's (three stages, residual reductions), so the family
reuses the ``nb201`` family's supernet, derivation and checks, which read the edges from the cell
member's :meth:`edge_list`; only the cell's shape and its count change. List this module under a
recipe's ``imports:`` and write ``space.cell: {kind: chain, nodes: 4}`` with
``supernet: {kind: chain, ...}``. The test suite imports it, searches with it and unregisters it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt

from factorspace.cells import register_cell_family
from factorspace.cells.nb201 import NB201Family
from factorspace.schema.cell import NB201CellConfig
from factorspace.schema.network import NB201SupernetConfig


# --8<-- [start:members]
class ChainCellConfig(NB201CellConfig):
    """``space.cell``: the schema member (fields, bounds, defaults, checked when a recipe loads)
    and the cell's shape (its cell types and input node are NB201's: one of each)."""

    kind: Literal["chain"] = "chain"
    nodes: StrictInt = Field(4, ge=1, le=16, description="nodes after the input")

    def edge_list(self) -> list[tuple[int, int]]:
        return [(t - 1, t) for t in range(1, self.nodes + 1)]

    def cell_size(self, space) -> int:
        return len(space.candidates) ** self.nodes  # every edge one candidate, none included


class ChainSupernetConfig(NB201SupernetConfig):
    """``supernet``: NAS-Bench-201's sizes and options under this family's name."""

    kind: Literal["chain"] = "chain"


# --8<-- [end:members]


# --8<-- [start:family]
@register_cell_family("chain", cell=ChainCellConfig, supernet=ChainSupernetConfig)
class ChainFamily(NB201Family):
    """NAS-Bench-201's derivation (every edge, argmax with none), checks and networks."""


# --8<-- [end:family]
