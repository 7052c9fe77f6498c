"""JSON Schemas of the two recipe kinds, for editors: generated from the pydantic models.

The files beside this module (``recipe.schema.json`` for search recipes, ``train.schema.json`` for
``recipes/train_*.yaml``) are what a recipe's first line points at::

    # yaml-language-server: $schema=../factorspace/schemas/recipe.schema.json

so that an editor with the YAML language server completes keys and flags a misspelt one as it is
typed. ``python scripts/write_schemas.py`` rewrites them; a test checks they are up to date.

The schema is a first check, not the whole one: the loader also applies the cross-field rules (a
rule naming a missing factor, one operator factor, sizes that fit) and knows the operators and
activations that a recipe's ``imports`` register. Operator and activation choices are therefore
any string, with the built-in names offered for completion.

Example:
    >>> from factorspace.schemas import recipe_schema
    >>> schema = recipe_schema("search")
    >>> sorted(schema["properties"])
    ['data', 'imports', 'limits', 'name', 'search', 'space', 'supernet']
    >>> schema["additionalProperties"]
    False
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from factorspace import ops  # noqa: F401  (registers the built-in names offered for completion)
from factorspace.registry import ACTIVATIONS, OPERATORS
from factorspace.schema import Recipe, TrainRecipe
from factorspace.schema.train import network_defaults

Kind = Literal["search", "train"]
HERE = Path(__file__).parent
FILES: dict[str, Path] = {
    "search": HERE / "recipe.schema.json",
    "train": HERE / "train.schema.json",
}
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def recipe_schema(kind: Kind = "search") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a search recipe (``"search"``) or a train recipe.

    Raises:
        ValueError: for another ``kind``.
    """
    if kind == "search":
        schema = Recipe.model_json_schema()
        _offer_names(schema["$defs"])
        title = "factorspace search recipe"
    elif kind == "train":
        schema = TrainRecipe.model_json_schema()
        _dataset_defaults(schema["$defs"]["NetworkConfig"])
        title = "factorspace train recipe"
    else:
        raise ValueError(f"kind must be 'search' or 'train', not {kind!r}")
    return {"$schema": DIALECT, **schema, "title": title}


def schema_text(kind: Kind = "search") -> str:
    """The schema as the shipped file holds it (sorted keys, two-space indent, final newline)."""
    return json.dumps(recipe_schema(kind), indent=2, sort_keys=True) + "\n"


def write_schemas() -> list[Path]:
    """Rewrite the shipped schema files; returns their paths."""
    for kind, path in FILES.items():
        path.write_text(schema_text(kind), encoding="utf-8")  # type: ignore[arg-type]
    return list(FILES.values())


def _offer_names(defs: dict[str, Any]) -> None:
    """Operator and activation choices: any string, the built-in names offered for completion."""
    for model, registry in (("OperatorFactor", OPERATORS), ("InputFactor", ACTIVATIONS)):
        choices = defs[model]["properties"]["choices"]
        choices["items"] = {
            "anyOf": [
                {"enum": _built_in(registry), "description": f"a built-in {registry.kind}"},
                {
                    "type": "string",
                    "description": f"an {registry.kind} a module in `imports` registers",
                },
            ]
        }


def _built_in(registry) -> list[str]:
    """Names registered by factorspace itself, not by user modules imported in this process."""
    names = []
    for name in registry.names():
        factory = registry.get(name).factory
        if getattr(factory, "__module__", "").startswith("factorspace."):
            names.append(name)
    return names


def _dataset_defaults(network: dict[str, Any]) -> None:
    """Sizes that default by dataset are optional; say so (the model fills them before checks)."""
    defaulted = set(network_defaults("cifar10"))
    network["required"] = [k for k in network.get("required", []) if k not in defaulted]
    if not network["required"]:
        del network["required"]
    for key in defaulted:
        prop = network["properties"][key]
        by_dataset = ", ".join(f"{d} {network_defaults(d)[key]}" for d in ("cifar10", "imagenet"))
        prop["description"] = f"{prop.get('description', '')}; unset: {by_dataset}"
