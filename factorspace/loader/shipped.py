"""The recipes shipped in the repository's ``recipes/`` folder, each with what it runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
"""The shipped recipes: the repository's ``recipes/`` (absent from an installed wheel)."""
_SCHEMA_LINE = "# yaml-language-server:"


@dataclass(frozen=True)
class ShippedRecipe:
    name: str
    path: Path
    description: str
    """The recipe's first comment line (its schema line aside)."""


def list_recipes(folder: str | Path = RECIPES) -> list[ShippedRecipe]:
    """The ``*.yaml`` recipes in ``folder`` (default: the shipped ones), by name.

    Example::

        [r.name for r in list_recipes()]  # ['adarts_cifar', 'apcdarts_cifar', ...]
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [ShippedRecipe(p.stem, p, _first_comment(p)) for p in sorted(folder.glob("*.yaml"))]


def _first_comment(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and not line.startswith(_SCHEMA_LINE):
            return line.lstrip("#").strip()
        if line.strip() and not line.startswith("#"):
            break
    return ""
