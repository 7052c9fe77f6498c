"""Which kind of YAML document a file holds: a search recipe, a train recipe or a study.

`factorspace validate` takes all three. The kind is read, in order, from the schema line an
editor uses (``# yaml-language-server: $schema=.../train.schema.json``: every shipped recipe has
one), then from the top-level keys that only one kind has; a document with none of them is read as
a search recipe, whose message then names what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from factorspace.loader.document import parse_yaml, read_text

Kind = Literal["search", "train", "study"]

# The top-level keys that only one kind of document has (name, imports, data, limits are shared).
KIND_KEYS: dict[str, frozenset[str]] = {
    "study": frozenset({"variants", "seeds", "compare", "metric"}),  # a study's `train` is a stage
    "search": frozenset({"space", "supernet", "search"}),
    "train": frozenset({"network", "train"}),
}
_SCHEMAS = {"train.schema.json": "train", "recipe.schema.json": "search"}
KIND_NAMES = {"search": "search recipe", "train": "train recipe", "study": "study"}


def document_kind(data: object, text: str = "") -> Kind:
    """The kind of a parsed document (``text``: its source, for the schema line)."""
    first = text.lstrip().partition("\n")[0]
    if first.startswith("#") and "$schema=" in first:
        for schema, kind in _SCHEMAS.items():
            if first.rstrip().endswith(schema):
                return kind  # type: ignore[return-value]
    keys = set(data) if isinstance(data, dict) else set()
    for kind, only in KIND_KEYS.items():
        if keys & only:
            return kind  # type: ignore[return-value]
    return "search"


def file_kind(path: str | Path) -> Kind:
    """The kind of the YAML document at ``path``.

    Raises:
        RecipeError: the file cannot be read or is not YAML (located, as loading it would say).
    """
    path = Path(path)
    text = read_text(path)
    data, _ = parse_yaml(text, path)
    return document_kind(data, text)
