"""DARTS's cell family (Liu et al. 2019): the cell every recipe without ``space.cell.kind`` has.

Two inputs (c_{k-2}, c_{k-1}: nodes 0 and 1), ``nodes`` intermediate nodes each fed by every
earlier node, derivation keeping ``cell.keep`` non-``none`` edges per node (DARTS's rule,
:mod:`factorspace.derive`), the output the concat of the intermediate nodes; a normal and a
reduction cell type, each with its own architecture parameters; the supernet is DARTS's
``model_search.Network`` (:mod:`factorspace.compile.supernet`, reductions at 1/3 and 2/3 of the
depth) and the fixed network its ``model.NetworkCIFAR`` / ``NetworkImageNet``
(:mod:`factorspace.retrain.network`). The cell's shape is its schema member's
(:class:`~factorspace.schema.cell.CellConfig`). This module only routes to that code, unchanged.
"""

from __future__ import annotations

from typing import Any

from factorspace.cells.base import CellFamily, register_cell_family
from factorspace.compile.supernet import Supernet
from factorspace.derive import derive_darts_cell
from factorspace.genotype.check import check_darts_cell, check_darts_structure
from factorspace.retrain.network import build_darts_network
from factorspace.schema.cell import CellConfig
from factorspace.schema.network import SupernetConfig
from factorspace.schema.train import NetworkConfig


@register_cell_family("darts", cell=CellConfig, supernet=SupernetConfig)
class DartsFamily(CellFamily):
    def derive_cell(self, space, rows, edge_row, max_skip_connects):
        return derive_darts_cell(space, rows, edge_row, max_skip_connects)

    def check_cell_structure(self, cell, loc: tuple, registered: bool) -> None:
        check_darts_structure(cell, loc, registered)

    def check_cell_fits(self, cell, space, loc: tuple) -> None:
        check_darts_cell(cell, space, loc)

    def build_supernet(self, space, config, relaxations):
        return Supernet(space, config, relaxations)

    def build_network(self, genotype, **sizes: Any):
        return build_darts_network(genotype, NetworkConfig(**sizes))
