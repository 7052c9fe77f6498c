"""Reading and writing genotype files (JSON or YAML), errors located as ``FILE:LINE: FIELD``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from factorspace.errors import FactorspaceError, FieldError, RecipeError, format_loc, shown
from factorspace.genotype.check import check_fits_space, check_structure
from factorspace.genotype.imports import import_recorded, with_imports
from factorspace.genotype.model import GENOTYPE_FORMAT, GENOTYPE_VERSION, Genotype
from factorspace.loader import line_of, parse_yaml, read_text, validate
from factorspace.schema.space import SpaceConfig
from factorspace.space import Space


def save_genotype(genotype: Genotype, path: str | Path) -> Path:
    """Write ``genotype`` as JSON (``.json``) or YAML (``.yaml``/``.yml``), atomically.

    The text goes to a temporary file in the same folder, which then replaces ``path``: a reader
    never sees half a genotype. A genotype with custom operators or activations records the
    modules registering them (:func:`~factorspace.genotype.imports.with_imports`), so loading the
    file imports them. Returns the path written.

    Raises:
        FactorspaceError: for a suffix that names no format.
    """
    path = Path(path)
    data = with_imports(genotype).model_dump(mode="json", exclude_none=True)
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(data, indent=2) + "\n"
    elif suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    else:
        raise FactorspaceError(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}; "
            "use .json, .yaml or .yml"
        )
    _write_atomic(path, text)
    return path


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        if e.filename is None:  # a write's error (a full disk) names no file: name the target
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_genotype(
    path: str | Path, *, space: Space | SpaceConfig | None = None, registered: bool = False
) -> Genotype:
    """Read a genotype file (JSON or YAML), checked against ``space`` when given.

    With ``space``, the genotype must be an architecture of it
    (:func:`~factorspace.genotype.check.check_fits_space`). Without, the cells' shape is checked
    (:func:`~factorspace.genotype.check.check_structure`), and with ``registered`` also that every
    operator, activation and argument is in the registries (what building its network needs;
    drawing it does not), after importing the modules the file records (``imports``) when it
    names one that is not registered yet.

    Example::

        g = load_genotype("runs/adarts/genotype.json", space=recipe.space)

    Raises:
        RecipeError: ``FILE:LINE: field: message`` for a file that is not a genotype, does not
            validate, or (given ``space``) does not fit the space.
    """
    path = Path(path)
    data, lines = parse_yaml(read_text(path), path)
    _require_genotype_document(data, path, lines)
    genotype = validate(Genotype, data, path, lines)
    try:
        if registered:
            import_recorded(genotype)
    except FactorspaceError as e:
        loc = tuple(_dotted(e.field))
        raise RecipeError(e.message, path=path, line=line_of(loc, lines), field=e.field) from None
    try:
        if space is not None:
            check_fits_space(genotype, space)
        else:
            check_structure(genotype, registered=registered)
    except FieldError as e:
        line = line_of(e.loc, lines)
        raise RecipeError(e.message, path=path, line=line, field=format_loc(e.loc)) from None
    return genotype


def _require_genotype_document(data: Any, path: Path, lines: dict) -> None:
    if not isinstance(data, dict) or "format" not in data:
        hint = " (it looks like a recipe)" if isinstance(data, dict) and "space" in data else ""
        raise RecipeError(
            f"not a factorspace genotype{hint}: missing `format: {GENOTYPE_FORMAT}`", path=path
        )
    if data["format"] != GENOTYPE_FORMAT:
        raise RecipeError(
            f"not a factorspace genotype: format is {shown(data['format'])}, "
            f"expected {GENOTYPE_FORMAT!r}",
            path=path,
            line=lines.get(("format",)),
            field="format",
        )
    version = data.get("version", GENOTYPE_VERSION)
    if version != GENOTYPE_VERSION:
        raise RecipeError(
            f"genotype version {shown(version)} is not supported; this factorspace reads version "
            f"{GENOTYPE_VERSION}",
            path=path,
            line=lines.get(("version",)),
            field="version",
        )


def _dotted(field: str | None) -> list[str | int]:
    """``"imports[0]"`` -> ``["imports", 0]``, the location :func:`line_of` looks up."""
    name, _, index = (field or "").partition("[")
    return [name, int(index.rstrip("]"))] if index else [name]
