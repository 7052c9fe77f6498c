"""The recipes shipped in the repository's ``recipes/`` folder, each with what it runs."""

from __future__ import annotations

import re
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
    """The first sentence of the recipe's opening comment (its schema line aside)."""


def list_recipes(folder: str | Path = RECIPES) -> list[ShippedRecipe]:
    """The ``*.yaml`` recipes in ``folder`` (default: the shipped ones), by name.

    Example::

        [r.name for r in list_recipes()]  # ['adarts_cifar', 'apcdarts_cifar', ...]
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [ShippedRecipe(p.stem, p, _first_comment(p)) for p in sorted(folder.glob("*.yaml"))]


# A sentence ends at `.`, `!` or `?` before a space or the end, but not in "et al." or "e.g.".
_SENTENCE_END = re.compile(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bcf)[.!?](?=\s|$)")


def _first_comment(path: Path) -> str:
    """The first sentence of the opening comment paragraph: its lines joined up to a blank
    comment line or an indented one (a command or a list), cut after the first sentence."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(_SCHEMA_LINE) and not lines:
            continue
        text = line[1:] if line.startswith("#") else None
        if text is None or not text.strip() or text.startswith("   "):
            break
        lines.append(text.strip())
    paragraph = " ".join(lines)
    end = _SENTENCE_END.search(paragraph)
    return paragraph[: end.end()] if end else paragraph.rstrip(":").strip()
