"""Loading a train recipe (``recipes/train_*.yaml``) with ``--set`` overrides."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from factorspace.errors import RecipeError
from factorspace.loader import apply_override, import_modules, parse_yaml, read_text, validate
from factorspace.schema.train import TrainRecipe


def load_train_recipe(path: str | Path | None, overrides: Iterable[str] = ()) -> TrainRecipe:
    """Load and validate a train recipe, applying ``dotted.key=value`` overrides.

    ``path=None`` starts from the schema's defaults (DARTS's CIFAR-10 re-training).

    Raises:
        RecipeError: with ``FILE:LINE: field: message`` for any problem.
    """
    if path is None:
        return validate_train_recipe({}, Path("(default recipe)"), {}, overrides)
    path = Path(path)
    data, lines = parse_yaml(read_text(path), path)
    if not isinstance(data, dict):
        raise RecipeError(
            "a train recipe is a mapping with `network:`, `train:` and `data:`", path=path, line=1
        )
    return validate_train_recipe(data, path, lines, overrides)


def validate_train_recipe(
    data: dict, path: Path, lines: dict, overrides: Iterable[str] = (), *, run_imports: bool = True
) -> TrainRecipe:
    """``data`` (read from ``path``, its keys' ``lines``) as a TrainRecipe, after overrides;
    ``run_imports=False`` for a recipe that is data (a checkpoint's): its imports must be
    imported already (:func:`~factorspace.loader.import_modules`)."""
    overridden = {apply_override(data, item, path) for item in overrides}
    import_modules(data.get("imports") or [], path, lines, run=run_imports)
    return validate(TrainRecipe, data, path, lines, overridden)
