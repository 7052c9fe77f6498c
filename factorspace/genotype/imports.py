"""The modules a genotype's custom operators and activations come from, recorded and re-imported.

A genotype written by a search over a recipe with ``imports: [my_ops]`` records
``imports: [{module: my_ops, folder: /where/it/was}]``, so ``info``, ``render``, ``export`` and
``train`` of that file import ``my_ops`` again (from ``sys.path``, else from that folder) before
they need its operators. Built-in operators are never recorded: such files are unchanged.
"""

from __future__ import annotations

import sys

from factorspace.errors import FactorspaceError
from factorspace.genotype.model import Genotype, GenotypeImport
from factorspace.loader.extensions import ExtensionModule, import_extension, module_folder
from factorspace.registry import ACTIVATIONS, OPERATORS, registering_module

BUILT_IN = "factorspace"


def _names(genotype: Genotype) -> list[str]:
    """Every operator and activation the genotype's edges name, in order, without repeats."""
    names: dict[str, None] = {}
    for cell in genotype.cells().values():
        for edge in cell.edges:
            names[edge.op] = None
            names.update(dict.fromkeys(edge.inputs.values()))
    return list(names)


def imports_of(genotype: Genotype) -> list[GenotypeImport]:
    """The modules registering ``genotype``'s operators and activations, but the built-in ones
    and a script's (``__main__`` cannot be imported again), each with its folder."""
    found: dict[str, GenotypeImport] = {}
    for name in _names(genotype):
        module = registering_module(name)
        if not module or module == "__main__" or module.split(".")[0] == BUILT_IN:
            continue
        loaded = sys.modules.get(module)
        folder = module_folder(loaded, module) if loaded is not None else None
        found.setdefault(module, GenotypeImport(module=module, folder=folder and str(folder)))
    return list(found.values())


def with_imports(genotype: Genotype) -> Genotype:
    """``genotype`` with :attr:`~Genotype.imports` recorded, unless it has them already or needs
    none (then it is returned as is)."""
    if genotype.imports is not None:
        return genotype
    imports = imports_of(genotype)
    return genotype.model_copy(update={"imports": imports}) if imports else genotype


def import_recorded(genotype: Genotype) -> list[ExtensionModule]:
    """Import the modules ``genotype`` records, when it names an operator or activation that is
    not registered; returns those imported.

    Raises:
        FactorspaceError: ``imports[0]: cannot import module 'my_ops': ...``.
    """
    if not genotype.imports or all(n in OPERATORS or n in ACTIVATIONS for n in _names(genotype)):
        return []
    done = []
    for i, record in enumerate(genotype.imports):
        folders = [record.folder] if record.folder else []
        try:
            done.append(import_extension(record.module, folders=folders))
        except FactorspaceError as e:
            raise FactorspaceError(e.message, field=f"imports[{i}]") from None
    return done
