"""A study file (``recipes/studies/*.yaml``): named variants x seeds, each a search and a re-training.

A variant searches with a recipe plus ``--set`` overrides (``search``), or re-uses another
variant's search of the same seed (``search_from``: Table 2's "factorized, re-trained with ReLU");
``set_activation`` replaces every searched activation before re-training
(:func:`factorspace.genotype.transform.with_input`); ``train`` overrides the study's re-training.
In a ``set`` value, ``{search:VARIANT}`` stands for that variant's search run directory of the
same seed (Config-A's ``init_from``). Paths are relative to the study file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from factorspace.errors import FieldError
from factorspace.schema.space import RunName, Strict, did_you_mean, safe_run_name

PLACEHOLDER = re.compile(r"\{search:([^}]*)\}")


class Stage(Strict):
    """A recipe file and ``--set`` style overrides (``dotted.key=value``)."""

    recipe: Path = Field(description="a recipe file, relative to the study file")
    set: list[str] = Field(default_factory=list, description="overrides, as `--set` takes them")


class Variant(Strict):
    """One row of the comparison: how its genotypes are found and re-trained."""

    search: Stage | None = Field(None, description="the search recipe and overrides")
    search_from: str | None = Field(
        None, description="re-use this variant's search (same seed) instead of searching"
    )
    set_activation: str | None = Field(
        None, description="re-train with every searched activation set to this one"
    )
    train: Stage | None = Field(None, description="the re-training; default: the study's `train`")

    @model_validator(mode="after")
    def _one_search(self) -> Variant:
        if (self.search is None) == (self.search_from is None):
            raise FieldError(("search",), "give one of `search` and `search_from`")
        return self

    def dependencies(self) -> set[str]:
        """The variants whose searches this one needs first."""
        found = {self.search_from} if self.search_from else set()
        for item in self.search.set if self.search else []:
            found |= set(PLACEHOLDER.findall(item))
        return found


class Study(Strict):
    """Variants x seeds, the re-training they share, and the comparison to test."""

    name: RunName = Field(description="names the default output directory, runs/studies/NAME")
    seeds: list[int] = Field(min_length=1, description="one cell per variant and seed")
    train: Stage = Field(description="the re-training of every variant without its own")
    variants: dict[str, Variant] = Field(min_length=1, description="name: variant, in order")
    compare: tuple[str, str] | None = Field(
        None, description="[A, B]: is A's test error lower than B's? (Welch's t-test, bootstrap)"
    )
    metric: Literal["test_error"] = Field("test_error", description="what the summary compares")

    @model_validator(mode="after")
    def _names_exist(self) -> Study:
        if len(set(self.seeds)) != len(self.seeds):
            raise FieldError(("seeds",), f"a seed given twice: {self.seeds}")
        names = list(self.variants)
        for name, variant in self.variants.items():
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                raise FieldError(("variants", name), "letters, digits, `_`, `.`, `-` only")
            try:  # a directory of --out: the rule of a run's name (no `.`, `..`, separators)
                safe_run_name(name)
            except FieldError as e:
                raise FieldError(("variants", name), e.message) from None
            for dep in sorted(variant.dependencies()):
                where = ("variants", name, "search_from" if variant.search_from else "search")
                if dep not in self.variants:
                    raise FieldError(where, f"no variant {dep!r}{did_you_mean(dep, names)}")
                if self.variants[dep].search is None or dep == name:
                    raise FieldError(where, f"{dep!r} has no search of its own to re-use")
        for i, name in enumerate(self.compare or ()):
            if name not in self.variants:
                raise FieldError(("compare", i), f"no variant {name!r}{did_you_mean(name, names)}")
        return self
