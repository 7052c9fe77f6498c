"""Read a YAML recipe into a :class:`Recipe`, turning every failure into one located message."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from factorspace.errors import (
    FactorspaceError,
    FieldError,
    Interrupted,
    RecipeError,
    clip,
    format_loc,
    shown,
    validation_message,
)
from factorspace.loader.document import MAX_BYTES, MAX_VALUES, Lines, line_of, parse_yaml, read_text
from factorspace.loader.extensions import extension_file, import_extension, is_imported
from factorspace.schema import Recipe
from factorspace.schema.train import TrainRecipe

__all__ = [
    "MAX_BYTES",
    "MAX_VALUES",
    "Lines",
    "apply_override",
    "errors_located",
    "import_modules",
    "line_of",
    "load_recipe",
    "locate",
    "parse_yaml",
    "read_text",
    "validate",
]

Loc = tuple[str | int, ...]
ROLE_TAGS = {"operator", "input", "argument"}


def load_recipe(
    path: str | Path, overrides: Iterable[str] = (), *, run_imports: bool = True
) -> Recipe:
    """Load and validate a recipe file, applying ``--set`` style ``dotted.key=value`` overrides.

    A recipe is code the user runs: its ``imports:`` are imported. ``run_imports=False`` reads
    one that is data (a run directory's record, for a report): each must be imported already,
    else it is refused (:func:`import_modules`).

    Raises:
        RecipeError: with ``FILE:LINE: field: message`` for any problem.
    """
    path = Path(path)
    text = read_text(path)
    data, lines = parse_yaml(text, path)
    if not isinstance(data, dict):
        raise RecipeError("a recipe is a mapping with at least a `space:` key", path=path, line=1)
    overridden = {apply_override(data, item, path) for item in overrides}
    import_modules(data.get("imports") or [], path, lines, run=run_imports)
    return validate(Recipe, data, path, lines, overridden)


def apply_override(data: dict, item: str, path: Path) -> Loc:
    """Set ``a.b.0.c=value`` (value parsed as YAML) in ``data``; returns the location set."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise RecipeError(f"--set {shown(item)}: expected dotted.key=value", path=path)
    loc = _dotted_loc(key)
    key = clip(key)  # for messages
    if "" in loc:
        raise RecipeError(f"--set {key}: an empty part in the dotted key", path=path)
    try:  # the value is YAML, read with the recipe's limits; what YAML refuses stays a string
        value, _ = parse_yaml(raw, path)
    except RecipeError:
        value = raw
    target: Any = data
    for i, part in enumerate(loc[:-1]):
        nxt = loc[i + 1]
        if isinstance(target, list):
            if not isinstance(part, int) or part >= len(target):
                raise RecipeError(
                    f"--set {key}: no item {part} in {format_loc(loc[:i])}; {_items(target)}",
                    path=path,
                )
            target = target[part]
        elif isinstance(target, dict):
            target = target.setdefault(part, [] if isinstance(nxt, int) else {})
        else:
            raise RecipeError(f"--set {key}: {format_loc(loc[:i])} is not a mapping", path=path)
    last = loc[-1]
    if isinstance(target, list):
        if not isinstance(last, int) or last >= len(target):
            raise RecipeError(
                f"--set {key}: no item {last} in {format_loc(loc[:-1])}; {_items(target)}",
                path=path,
            )
    elif not isinstance(target, dict):
        raise RecipeError(f"--set {key}: {format_loc(loc[:-1])} is not a mapping", path=path)
    target[last] = value
    return loc


def _items(items: list) -> str:
    """``the list has 3 items (0..2)``: what a ``--set`` index may be."""
    if not items:
        return "the list is empty"
    if len(items) == 1:
        return "the list has 1 item (0)"
    return f"the list has {len(items)} items (0..{len(items) - 1})"


def _dotted_loc(key: str) -> Loc:
    """``"a.0.b"`` -> ``("a", 0, "b")``; a part of digits is a list index (when it could be one)."""
    return tuple(int(p) if p.isdigit() and len(p) < 19 else p for p in key.split("."))


def import_modules(names: list, path: Path, lines: dict[Loc, int], *, run: bool = True) -> None:
    """Import the recipe's ``imports`` so their registrations exist before validation.

    Each is a module on ``sys.path`` or beside the recipe (``my_ops`` finds ``my_ops.py`` in the
    recipe's folder), or a ``.py`` file relative to it. An entry found in the recipe's folder is
    rewritten in ``names`` to its file's absolute path, so the recipe as validated, and as a run
    directory records it (``recipe.yaml``), finds the module from anywhere.

    ``run=False``: the recipe is data (a checkpoint's, a run's record read by a report), and
    data runs no code: each module must be imported already (``--import``), else it is refused.
    """
    if not isinstance(names, list):  # validation reports the wrong type
        return
    folder = path.parent.resolve()
    for i, name in enumerate(names):
        if not run:
            if not is_imported(str(name), folders=[folder]):
                raise RecipeError(
                    f"names the module {shown(name)}, which is not imported; factorspace "
                    "imports no module that a checkpoint or a run's record names (they are "
                    "data and run no code). If you trust that code, pass --import "
                    + shlex.quote(clip(str(name), 120)),
                    path=path,
                    line=lines.get(("imports", i)),
                    field=f"imports[{i}]",
                )
            continue
        try:
            found = import_extension(str(name), folders=[folder])
        except FactorspaceError as e:
            raise RecipeError(
                e.message, path=path, line=lines.get(("imports", i)), field=f"imports[{i}]"
            ) from None
        file = extension_file(found.module)
        if file is not None and (found.folder == folder or str(name).endswith(".py")):
            names[i] = str(file)


def validate(
    model: type[BaseModel],
    data: Any,
    path: Path,
    lines: dict[Loc, int],
    overridden: set[Loc] = frozenset(),
) -> Any:
    """``model.model_validate(data)``, with the first error located in the file."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise located_error(e, data, path, lines, overridden) from None


def located_error(
    e: ValidationError, data: Any, path: Path, lines: dict[Loc, int], overridden=frozenset()
) -> RecipeError:
    err = e.errors()[0]
    cause = (err.get("ctx") or {}).get("error")
    loc = tuple(err["loc"])
    if isinstance(cause, FieldError):
        loc, message = _data_loc((*loc, *cause.loc), data), cause.message
    else:
        loc = _data_loc(loc, data)
        if err["type"] == "union_tag_invalid":
            loc = (*loc, err["ctx"]["discriminator"].strip("'"))
        message = validation_message(err)
    more = len(e.errors()) - 1
    if more:
        message += f" (+{more} more error{'s' if more > 1 else ''})"
    line = line_of(loc, lines)
    where = path
    setting = _overriding(loc, overridden)
    if setting is not None:
        where, line = f"{path} (--set {format_loc(setting)})", None
    return RecipeError(message, path=where, line=line, field=format_loc(loc))


def _overriding(loc: Loc, overridden) -> Loc | None:
    """The ``--set`` location that set ``loc``, or one below it (``--set a.typo=1`` -> ``a.typo``)."""
    for o in overridden:
        if loc and (loc[: len(o)] == o or o[: len(loc)] == loc):
            return o
    return None


def _data_loc(loc: Loc, data: Any) -> Loc:
    """Drop pydantic's union-tag parts (e.g. the factor role) so the location follows the data."""
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if (
            isinstance(node, dict)
            and part in node
            or isinstance(node, list)
            and isinstance(part, int)
            and part < len(node)
        ):
            node = node[part]
        elif part in ROLE_TAGS and i + 1 < len(loc):
            continue
        else:
            node = None
        out.append(part)
    return tuple(out)


@contextlib.contextmanager
def errors_located(path: str | Path | None, overrides: Iterable[str] = ()):
    """Point a :class:`FactorspaceError` raised while a recipe is *used* at the recipe.

    Data, batch-size or class-count errors are found only when the run starts; they carry their
    recipe field (``FactorspaceError("/x does not exist", field="data.root")``). Within this
    block such an error becomes ``FILE:LINE: data.root: ...`` (``FILE (--set data.root): ...``
    when a ``--set`` gave the value). Located errors and interruptions pass unchanged.
    """
    try:
        yield
    except (RecipeError, Interrupted):
        raise
    except FactorspaceError as e:
        if path is None:
            raise
        raise locate(e, Path(path), overrides) from None


SECTIONS = {*Recipe.model_fields, *TrainRecipe.model_fields}


def locate(error: FactorspaceError, path: Path, overrides: Iterable[str] = ()) -> FactorspaceError:
    """``error`` placed in the recipe file at the line of its field (``error.field``).

    An error without a recipe field (e.g. about a run directory), or one already placed in a
    file, passes unchanged.
    """
    if error.field is None or error.file is not None:
        return error
    loc: Loc = _dotted_loc(error.field)
    if loc[0] not in SECTIONS:
        return error
    setting = _overriding(loc, {_override_loc(item) for item in overrides})
    if setting is not None:
        return RecipeError(
            error.message, path=f"{path} (--set {format_loc(setting)})", field=error.field
        )
    try:
        _, lines = parse_yaml(read_text(path), path)
    except RecipeError:
        return error
    return RecipeError(error.message, path=path, line=line_of(loc, lines), field=error.field)


def _override_loc(item: str) -> Loc:
    return _dotted_loc(item.partition("=")[0])
