"""Importing the user modules that register operators and activations (``imports:``,
``--import``): by name from ``sys.path`` or a recipe's folder, or from a ``.py`` file."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from factorspace.errors import FactorspaceError, clip, shown


@dataclass(frozen=True)
class ExtensionModule:
    """A module imported for its registrations and the folder it was found in: with ``folder``
    on ``sys.path``, ``import module`` finds the same file (``None`` for a module without one)."""

    module: str
    folder: Path | None


def import_extension(spec: str, *, folders: Sequence[str | Path] = ()) -> ExtensionModule:
    """Import the module ``spec`` so its ``register_*`` calls run; returns it and its folder.

    ``spec`` is a dotted module name, looked up on ``sys.path`` first and then in ``folders``
    (a recipe's folder: its ``my_ops.py`` needs no ``PYTHONPATH``), or a ``.py`` file, relative
    to ``folders`` and then the working directory (``pkg/ops.py`` inside a package, its folders
    holding ``__init__.py``, is imported as ``pkg.ops``). While it imports, its folder is first on
    ``sys.path``, so it can import the modules beside it; ``sys.path`` is restored after.

    Example::

        import_extension("my_ops", folders=[Path("recipes/mine")])

    Raises:
        FactorspaceError: ``cannot import module 'my_ops': ModuleNotFoundError: ...``, or any
            error the module raised, never a traceback.
    """
    try:
        return _import_extension(str(spec).strip(), [Path(f) for f in folders])
    except (Exception, SystemExit) as e:  # user code's failure, even sys.exit(): one line
        what = f"it called sys.exit({e.code!r})" if isinstance(e, SystemExit) else str(e)
        raise FactorspaceError(
            f"cannot import module {shown(spec)}: {e.__class__.__name__}: {clip(what, 200)}"
        ) from None


def is_imported(spec: str, *, folders: Sequence[str | Path] = ()) -> bool:
    """Whether the module ``spec`` names (as :func:`import_extension` finds it) is imported
    already, so importing it runs nothing new; imports nothing itself."""
    spec = str(spec).strip()
    try:
        if spec.endswith(".py") or "/" in spec or "\\" in spec:
            file = _find_file(spec, [Path(f) for f in folders])
            name, _ = _module_name_of(file)
            loaded = getattr(sys.modules.get(name), "__file__", None)
            return loaded is not None and Path(loaded).resolve() == file
    except (OSError, ValueError):  # no such file, or no module name
        return False
    return spec in sys.modules


def _import_extension(spec: str, folders: list[Path]) -> ExtensionModule:
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        name, root = _module_name_of(_find_file(spec, folders))
        return _import_from(name, root)
    if not spec or not all(part.isidentifier() for part in spec.split(".")):
        raise ValueError("not a module name (a.b.c) or a .py file")
    top = spec.partition(".")[0]
    if top in sys.modules or importlib.util.find_spec(top) is not None:
        module = importlib.import_module(spec)
        return ExtensionModule(spec, module_folder(module, spec))
    for folder in folders:
        if (folder / f"{top}.py").is_file() or (folder / top).is_dir():
            return _import_from(spec, folder.resolve())
    where = f" nor in {', '.join(str(f) for f in folders)}" if folders else ""
    raise ModuleNotFoundError(f"No module named {top!r} on the Python path{where}")


def _find_file(spec: str, folders: list[Path]) -> Path:
    path = Path(spec).expanduser()
    candidates = [path] if path.is_absolute() else [*(f / path for f in folders), path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise FileNotFoundError(f"no file {clip(spec)}")


def _module_name_of(path: Path) -> tuple[str, Path]:
    """``(dotted name, root folder)`` of a ``.py`` file: its parents holding ``__init__.py``
    are its packages (as pytest names test modules)."""
    parts, folder = ([] if path.name == "__init__.py" else [path.stem]), path.parent
    if path.name == "__init__.py":
        parts, folder = [folder.name], folder.parent
    while (folder / "__init__.py").is_file():
        parts, folder = [folder.name, *parts], folder.parent
    if not all(part.isidentifier() for part in parts):
        raise ValueError(f"{path}: {'.'.join(parts)!r} is not a module name")
    return ".".join(parts), folder


def _import_from(name: str, root: Path) -> ExtensionModule:
    """Import ``name`` with ``root`` first on ``sys.path``, refusing a module of that name
    already imported from another file (its registrations would be the other file's)."""
    with _first_on_path(root):
        module = importlib.import_module(name)
    folder = module_folder(module, name)
    if folder != root:
        raise ImportError(f"a module {name!r} is already imported from {module.__file__}")
    return ExtensionModule(name, folder)


@contextlib.contextmanager
def _first_on_path(folder: Path):
    entry = str(folder)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
        importlib.invalidate_caches()
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def module_folder(module: ModuleType, name: str) -> Path | None:
    """The ``sys.path`` folder ``module`` was found in: its file's folder, up one per package."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    folder = Path(file).resolve().parent
    depth = name.count(".") + (Path(file).name == "__init__.py")
    for _ in range(depth):
        folder = folder.parent
    return folder


def extension_file(module: str) -> Path | None:
    """The absolute ``.py`` file that :func:`import_extension` imports as the loaded ``module``
    again (from any working directory); ``None`` if there is none (a namespace package)."""
    file = getattr(sys.modules.get(module), "__file__", None)
    if not file or not file.endswith(".py"):
        return None
    path = Path(file).resolve()
    try:
        return path if _module_name_of(path)[0] == module else None
    except ValueError:
        return None
