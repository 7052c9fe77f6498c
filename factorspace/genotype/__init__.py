"""Genotypes: the discrete architectures a search derives, as plain versioned documents.

- :mod:`~factorspace.genotype.model`: :class:`Genotype`, :class:`GenotypeCell`,
  :class:`GenotypeEdge`, :data:`CELL_TYPES` and the file format's name and version;
- :mod:`~factorspace.genotype.io`: :func:`load_genotype`, :func:`save_genotype`;
- :mod:`~factorspace.genotype.check`: whether a genotype can be built, whether it fits a space;
- :mod:`~factorspace.genotype.darts`: DARTS's ``Genotype(normal=[...], ...)`` strings;
- :mod:`~factorspace.genotype.darts_files`: those strings in a ``genotypes.py``, ``.txt`` or log;
- :mod:`~factorspace.genotype.imports`: the modules a genotype's custom operators come from;
- :mod:`~factorspace.genotype.zoo`: the genotypes of the literature and :func:`resolve_genotype`;
- :mod:`~factorspace.genotype.transform`: :func:`with_input` (Table 2's "re-trained with ReLU").

None of them imports torch.
"""

from factorspace.genotype.check import (
    check_buildable,
    check_fits_space,
    check_genotype,
    check_structure,
)
from factorspace.genotype.darts import from_darts_string, to_darts_string
from factorspace.genotype.darts_files import read_darts_file
from factorspace.genotype.imports import import_recorded, imports_of
from factorspace.genotype.io import load_genotype, save_genotype
from factorspace.genotype.model import (
    CELL_TYPES,
    GENOTYPE_FORMAT,
    GENOTYPE_VERSION,
    Genotype,
    GenotypeCell,
    GenotypeEdge,
    GenotypeImport,
)
from factorspace.genotype.transform import with_input
from factorspace.genotype.zoo import get_genotype, list_genotypes, resolve_genotype

__all__ = [
    "CELL_TYPES",
    "GENOTYPE_FORMAT",
    "GENOTYPE_VERSION",
    "Genotype",
    "GenotypeCell",
    "GenotypeEdge",
    "GenotypeImport",
    "check_buildable",
    "check_fits_space",
    "check_genotype",
    "check_structure",
    "from_darts_string",
    "get_genotype",
    "import_recorded",
    "imports_of",
    "list_genotypes",
    "load_genotype",
    "read_darts_file",
    "resolve_genotype",
    "save_genotype",
    "to_darts_string",
    "with_input",
]
