"""The cell-family protocol: what a cell family decides, in one class, registered by name.

A *cell family* is the shape of the searched cell and the network around it: DARTS's (two inputs,
keep-2 derivation, concatenated intermediate nodes, normal and reduction cells) or
NAS-Bench-201's (one input, every edge kept, output the last node, one cell type).

Its parts live where the layers of factorspace need them (docs/concepts.md):

- the cell's shape is data on its ``space.cell`` schema member (:mod:`factorspace.schema.cell`):
  ``cell_types``, ``input_nodes``, ``edge_list()``, ``cell_size(space)``, read by the space, the
  genotype document and the records;
- its behaviour is a :class:`CellFamily`: derivation (:meth:`CellFamily.derive_cell`), genotype
  checks (:meth:`CellFamily.check_cell_structure`, :meth:`CellFamily.check_cell_fits`), the
  search supernet and the fixed network (:meth:`CellFamily.build_supernet`,
  :meth:`CellFamily.build_network`) and a search's extra records
  (:meth:`CellFamily.epoch_metrics`, :meth:`CellFamily.summary_line`). The lower layers reach it
  through the registry :data:`~factorspace.schema.kinds.CELL_FAMILIES` (``Space(config).family``),
  never by importing this package, which sits above them.

A new family is one module: its two schema members and a :class:`CellFamily` subclass registered
with :func:`register_cell_family`, as a relaxation is a schema member and a class
(``docs/writing-a-space.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from factorspace.errors import FactorspaceError
from factorspace.schema.cell import CELL_CONFIGS, cell_member
from factorspace.schema.kinds import CELL_FAMILIES, get_family
from factorspace.schema.network import SUPERNET_CONFIGS, supernet_member

if TYPE_CHECKING:
    from torch import nn

    from factorspace.genotype.model import Genotype, GenotypeCell
    from factorspace.space import Space

Rows = dict[str, list[list[float]]]  # group -> edges x choices, one cell type's probabilities


class CellFamily:
    """Base of every cell family; a subclass overrides what its shape changes."""

    name: str = ""

    @property
    def cell_types(self) -> tuple[str, ...]:
        """The cell types carrying architecture weights: its ``space.cell`` member's."""
        return CELL_CONFIGS.get(self.name).cell_types

    # ---- derivation ---------------------------------------------------------------------------
    def derive_cell(
        self,
        space: Space,
        rows: Rows,
        edge_row: list[float] | None,
        max_skip_connects: int | None,
    ) -> GenotypeCell:
        """The genotype cell of one cell type's probabilities ``rows`` (group -> edges x choices,
        fixed factors absent); ``edge_row``: PC-DARTS's normalised edge weights, or ``None``."""
        raise NotImplementedError

    # ---- genotypes ----------------------------------------------------------------------------
    def check_cell_structure(self, cell: GenotypeCell, loc: tuple, registered: bool) -> None:
        """Raise :class:`~factorspace.errors.FieldError` unless ``cell`` can be built."""
        raise NotImplementedError

    def check_cell_fits(self, cell: GenotypeCell, space: Space, loc: tuple) -> None:
        """Raise :class:`~factorspace.errors.FieldError` unless ``cell`` is one the search over
        ``space`` could derive."""
        raise NotImplementedError

    # ---- networks (torch) ---------------------------------------------------------------------
    def build_supernet(self, space: Space, config: Any, relaxations: dict) -> nn.Module:
        """The search supernet of ``space`` at ``config``'s sizes (the ``supernet`` member)."""
        raise NotImplementedError

    def build_network(self, genotype: Genotype, **sizes: Any) -> nn.Module:
        """The fixed network of ``genotype`` (freshly initialised, CPU)."""
        raise FactorspaceError(f"the {self.name} family builds no fixed network")

    # ---- a search's records -------------------------------------------------------------------
    def epoch_metrics(self, space: Space, genotype: Genotype) -> dict[str, Any]:
        """Columns added to each epoch's metrics row for the derived ``genotype``."""
        return {}

    def summary_line(self, space: Space, genotype: Genotype) -> str | None:
        """A line printed at the end of a search about its final genotype; ``None``: none."""
        return None


F = TypeVar("F", bound=type[CellFamily])
CELL_SHAPE = ("cell_types", "input_nodes", "edge_list", "cell_size")
"""What a ``space.cell`` member says about its cell (:mod:`factorspace.schema.cell`)."""


def register_cell_family(
    name: str, *, cell: type | None = None, supernet: type | None = None
) -> Callable[[F], F]:
    """Register a :class:`CellFamily` subclass (one instance) as ``space.cell.kind: name``.

    ``cell`` and ``supernet`` are its schema members (``kind: Literal[name] = name``), registered
    with it when they are not yet known (the shipped members are declared in
    :mod:`factorspace.schema`).
    """

    def decorate(cls: F) -> F:
        member = cell if cell is not None else _known(CELL_CONFIGS, name)
        missing = [a for a in CELL_SHAPE if member is not None and not hasattr(member, a)]
        if missing:
            raise TypeError(
                f"cell family {name!r}: its space.cell member {member.__name__} has no "
                f"{', '.join(missing)} (the cell's shape; see factorspace.schema.cell)"
            )
        for registry, given, what in (
            (CELL_CONFIGS, cell, "space.cell"),
            (SUPERNET_CONFIGS, supernet, "supernet"),
        ):
            if name not in registry and given is None:
                raise ValueError(f"cell family {name!r} has no {what} schema member")
        if name in CELL_FAMILIES:
            raise ValueError(f"cell family {name!r} is already registered")
        if cell is not None and name not in CELL_CONFIGS:
            cell_member(cell)
        if supernet is not None and name not in SUPERNET_CONFIGS:
            supernet_member(supernet)
        instance = cls()
        instance.name = name
        CELL_FAMILIES.add(name, instance)
        return cls

    return decorate


def _known(registry, name: str):
    return registry.get(name) if name in registry else None


def unregister_cell_family(name: str) -> None:
    """Remove a family and its schema members (for tests)."""
    CELL_FAMILIES.remove(name)
    CELL_CONFIGS.remove(name)
    SUPERNET_CONFIGS.remove(name)


__all__ = ["CELL_FAMILIES", "CellFamily", "get_family", "register_cell_family"]
