"""The modules a genotype's custom operators and activations come from, recorded and re-imported.

A genotype written by a search over a recipe with ``imports: [my_ops]`` records
``imports: [{module: my_ops, folder: /where/it/was}]``: where its operators came from. Built-in
operators are never recorded: such files are unchanged.

A genotype is data, and researchers exchange them: opening one must not run its author's code.
So ``info``, ``render``, ``export``, ``train`` and ``eval`` never import what a genotype (or a
checkpoint's genotype) names on their own: they refuse it with one message naming the module and
``--import``, which the user passes once they trust that code; the names then are registered
and the record is not needed. Only a caller that wrote the genotype itself from code the user
runs (a study's own search) imports the record, with ``trusted=True``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from factorspace.errors import FactorspaceError, clip, shown
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


def import_recorded(genotype: Genotype, *, trusted: bool = False) -> list[ExtensionModule]:
    """Make sure the operators and activations ``genotype`` names are registered; returns the
    modules imported for it.

    Args:
        trusted: import the modules the genotype records (only for a genotype written by code
            the user runs). Otherwise an unregistered name is refused: the user imports its
            module first (``--import``, a recipe's ``imports:``).

    Raises:
        FactorspaceError: ``imports[0]: the genotype names the module 'my_ops' ...: pass
            --import ...``; with ``trusted``, ``imports[0]: cannot import module 'my_ops': ...``.
    """
    missing = [n for n in _names(genotype) if n not in OPERATORS and n not in ACTIVATIONS]
    if not genotype.imports or not missing:
        return []  # nothing to import, or the check of its names reports them
    if not trusted:
        raise FactorspaceError(untrusted_message(genotype, missing), field="imports[0]")
    done = []
    for i, record in enumerate(genotype.imports):
        folders = [record.folder] if record.folder else []
        try:
            done.append(import_extension(record.module, folders=folders))
        except FactorspaceError as e:
            raise FactorspaceError(e.message, field=f"imports[{i}]") from None
    return done


def untrusted_message(genotype: Genotype, missing: list[str]) -> str:
    """Why a genotype's recorded modules are not imported, and the ``--import`` that does it."""
    names = ", ".join(shown(n, 40) for n in missing[:3]) + (" ..." if len(missing) > 3 else "")
    modules = [import_hint(r) for r in genotype.imports or []][:3]
    flags = " ".join(f"--import {m}" for m in modules)
    what = "module" if len(modules) == 1 else "modules"
    return (
        f"{names} {'is' if len(missing) == 1 else 'are'} not registered: the genotype names the "
        f"{what} {', '.join(shown(r.module, 60) for r in (genotype.imports or [])[:3])} for them, "
        "and factorspace imports no module a file names (genotypes are data). If you trust "
        f"that code, pass {flags} (or list it in the recipe's imports:)"
    )


def import_hint(record: GenotypeImport) -> str:
    """What ``--import`` takes for a recorded module: its ``.py`` file where the recorded folder
    holds it (no ``PYTHONPATH`` needed), else its name."""
    if record.folder:
        base = Path(record.folder, *record.module.split("."))
        for file in (base.with_suffix(".py"), base / "__init__.py"):
            try:
                if file.is_file():
                    return shlex.quote(clip(str(file), 120))
            except (OSError, ValueError):  # a name too long, a NUL: not a file
                break
    return clip(record.module, 120)
