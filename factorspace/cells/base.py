"""The cell-family protocol: what a cell family decides, in one class, registered by name.

A *cell family* is the shape of the searched cell and the network around it: DARTS's (two inputs,
keep-2 derivation, concatenated intermediate nodes, normal and reduction cells) or
NAS-Bench-201's (one input, every edge kept, output the last node, one cell type). Everything
that depends on that shape asks the space's family (``Space(config).family``):

- the space: which cell types carry architecture weights, the edges of a cell, how many
  architectures there are (:meth:`CellFamily.edge_list`, :meth:`CellFamily.cell_size`);
- derivation: the genotype cell of one cell type's weights (:meth:`CellFamily.derive_cell`);
- genotypes: whether a cell can be built and whether it is one of the space's
  (:meth:`CellFamily.check_cell_structure`, :meth:`CellFamily.check_cell_fits`);
- networks: the search supernet and the fixed network of a genotype
  (:meth:`CellFamily.build_supernet`, :meth:`CellFamily.build_network`);
- a search's records: extra metrics per epoch and a closing line (:meth:`CellFamily.epoch_metrics`,
  :meth:`CellFamily.summary_line`).

A new family is one module: a :class:`CellFamily` subclass registered with
:func:`register_cell_family`, with its ``space.cell`` and ``supernet`` schema members
(:mod:`factorspace.schema.cell`, :mod:`factorspace.schema.network`), as a relaxation is
(``docs/writing-a-space.md``). This module imports no torch: the genotype and schema layers use it;
the torch parts (supernet, network) are imported by the methods that build them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from factorspace.errors import FactorspaceError
from factorspace.registry import Registry
from factorspace.schema.cell import CELL_CONFIGS, cell_member
from factorspace.schema.kinds import DEFAULT_FAMILY
from factorspace.schema.network import SUPERNET_CONFIGS, supernet_member

if TYPE_CHECKING:
    from torch import nn

    from factorspace.genotype.model import Genotype, GenotypeCell
    from factorspace.space import Space

Rows = dict[str, list[list[float]]]  # group -> edges x choices, one cell type's probabilities


class CellFamily:
    """Base of every cell family; a subclass overrides what its shape changes."""

    name: str = ""
    cell_types: tuple[str, ...] = ("normal",)
    """The cell types that carry architecture weights, each a cell of the genotype document
    (``normal``, ``reduce``): one parameter set per type."""
    input_nodes: int = 1
    """Nodes ``0..input_nodes-1`` are the cell's inputs; the searched nodes follow."""

    # ---- the space (no torch) -----------------------------------------------------------------
    def edge_list(self, space: Space) -> list[tuple[int, int]]:
        """``(source, target)`` of every edge of a cell, in the order of the architecture
        parameters' rows."""
        raise NotImplementedError

    def cell_size(self, space: Space) -> int:
        """Distinct discrete cells of one cell type."""
        raise NotImplementedError

    def space_size(self, space: Space) -> int:
        """Distinct architectures: one cell per cell type."""
        return self.cell_size(space) ** len(self.cell_types)

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


CELL_FAMILIES: Registry[CellFamily] = Registry("cell family")
F = TypeVar("F", bound=type[CellFamily])


def register_cell_family(
    name: str, *, cell: type | None = None, supernet: type | None = None
) -> Callable[[F], F]:
    """Register a :class:`CellFamily` subclass (one instance) as ``space.cell.kind: name``.

    ``cell`` and ``supernet`` are its schema members (``kind: Literal[name] = name``), registered
    with it when they are not yet known (the shipped members are declared in
    :mod:`factorspace.schema`).
    """

    def decorate(cls: F) -> F:
        if cell is not None and name not in CELL_CONFIGS:
            cell_member(cell)
        if supernet is not None and name not in SUPERNET_CONFIGS:
            supernet_member(supernet)
        for registry, what in ((CELL_CONFIGS, "space.cell"), (SUPERNET_CONFIGS, "supernet")):
            if name not in registry:
                raise ValueError(f"cell family {name!r} has no {what} schema member")
        instance = cls()
        instance.name = name
        CELL_FAMILIES.add(name, instance)
        return cls

    return decorate


def unregister_cell_family(name: str) -> None:
    """Remove a family and its schema members (for tests)."""
    CELL_FAMILIES.remove(name)
    CELL_CONFIGS.remove(name)
    SUPERNET_CONFIGS.remove(name)


def get_family(name: str | None) -> CellFamily:
    """The family registered as ``name`` (``None``: DARTS's).

    Raises:
        FactorspaceError: for a name no family has.
    """
    name = name or DEFAULT_FAMILY
    if name not in CELL_FAMILIES:
        raise FactorspaceError(
            f"unknown cell family {name!r}; registered: {', '.join(CELL_FAMILIES.names())}"
        )
    return CELL_FAMILIES.get(name)
