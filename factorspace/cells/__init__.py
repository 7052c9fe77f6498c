"""Cell families: the shape of the searched cell and the network around it, as an extension point.

Importing this package registers the shipped families, ``darts`` (:mod:`factorspace.cells.darts`,
the default) and ``nb201`` (:mod:`factorspace.cells.nb201`). The protocol is
:class:`~factorspace.cells.base.CellFamily`.
"""

from factorspace.cells import darts, nb201  # noqa: F401  (register)
from factorspace.cells.base import (
    CELL_FAMILIES,
    CellFamily,
    get_family,
    register_cell_family,
    unregister_cell_family,
)

__all__ = [
    "CELL_FAMILIES",
    "CellFamily",
    "get_family",
    "register_cell_family",
    "unregister_cell_family",
]
