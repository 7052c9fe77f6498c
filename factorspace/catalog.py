"""What can be named in a recipe or a genotype: operators, activations, shipped recipes, the zoo.

``factorspace list`` prints :func:`catalog`; each section is also a function of the Python API
(:func:`~factorspace.registry.list_operators`, :func:`list_recipes`, ...).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factorspace.genotype.zoo import get_genotype, list_genotypes
from factorspace.registry import (
    ACTIVATIONS,
    OPERATORS,
    RESERVED_PARAMETERS,
    OperatorEntry,
    list_activations,
    list_operators,
)

SECTIONS = ("operators", "activations", "recipes", "zoo")
RECIPES = Path(__file__).resolve().parents[1] / "recipes"
"""The shipped recipes: the repository's ``recipes/`` (absent from an installed wheel)."""
_SCHEMA_LINE = "# yaml-language-server:"


@dataclass(frozen=True)
class ShippedRecipe:
    name: str
    path: Path
    description: str


def list_recipes(folder: str | Path = RECIPES) -> list[ShippedRecipe]:
    """The ``*.yaml`` recipes in ``folder``, each with its first comment line (what it runs)."""
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


def operator_arguments(entry: OperatorEntry) -> dict[str, dict[str, Any]]:
    """Each keyword the operator takes after ``(channels, stride, affine)``: its default and what
    it declares to accept (the values, or the name of the function checking them)."""
    params = list(inspect.signature(entry.factory).parameters.values())[RESERVED_PARAMETERS:]
    keywords = [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    described = {}
    for keyword in dict.fromkeys([*keywords, *entry.arguments]):
        param = next((p for p in params if p.name == keyword), None)
        info: dict[str, Any] = {}
        if param is not None and param.default is not param.empty:
            info["default"] = param.default
        check = entry.arguments.get(keyword)
        if callable(check):
            info["accepts"] = f"{getattr(check, '__name__', 'check')}(value)"
        elif check is not None:
            info["accepts"] = sorted(check, key=repr)
        described[keyword] = info
    return described


def catalog(sections: tuple[str, ...] = SECTIONS) -> dict[str, list[dict[str, Any]]]:
    """The listed ``sections`` as plain data (what ``factorspace list --json`` prints)."""
    makers = {
        "operators": _operators,
        "activations": _activations,
        "recipes": _recipes,
        "zoo": _zoo,
    }
    return {section: makers[section]() for section in sections}


def _operators() -> list[dict[str, Any]]:
    entries = [OPERATORS.get(n) for n in list_operators()]
    return [
        {
            "name": e.name,
            "tags": sorted(e.tags),
            "arguments": operator_arguments(e),
            "description": e.description,
            "module": e.module,
        }
        for e in entries
    ]


def _activations() -> list[dict[str, Any]]:
    entries = [ACTIVATIONS.get(n) for n in list_activations()]
    return [{"name": e.name, "description": e.description, "module": e.module} for e in entries]


def _recipes() -> list[dict[str, Any]]:
    return [
        {"name": r.name, "path": str(r.path), "description": r.description} for r in list_recipes()
    ]


def _zoo() -> list[dict[str, Any]]:
    return [{"name": n, "source": get_genotype(n).source} for n in list_genotypes()]
