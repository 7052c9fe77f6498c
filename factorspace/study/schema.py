"""A study file (``recipes/studies/*.yaml``): named variants x seeds, each a search and an evaluation.

A variant searches with a recipe plus ``--set`` overrides (``search``), or re-uses another
variant's search of the same seed (``search_from``: Table 2's "factorized, re-trained with ReLU");
``set_activation`` replaces every searched activation before re-training
(:func:`factorspace.genotype.transform.with_input`); ``train`` overrides the study's re-training.
In a ``set`` value, ``{search:VARIANT}`` stands for that variant's search run directory of the
same seed (Config-A's ``init_from``). Paths are relative to the study file.

``evaluate`` says how a derived cell is judged: ``retrain`` (the default) re-trains it with
``train`` and tests it; ``nb201`` looks it up in NAS-Bench-201's table (every search an NB201
space, no re-training: :mod:`factorspace.study.lookup`). A ``set`` item may itself be a list
(a YAML alias of shared overrides, ``set: [*proxy, space.mode=factorized]``): it is spliced in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from factorspace.errors import FieldError
from factorspace.schema.space import RunName, Strict, did_you_mean, safe_run_name

PLACEHOLDER = re.compile(r"\{search:([^}]*)\}")


class Stage(Strict):
    """A recipe file and ``--set`` style overrides (``dotted.key=value``)."""

    recipe: Path = Field(description="a recipe file, relative to the study file")
    set: list[str] = Field(
        default_factory=list,
        description="overrides, as `--set` takes them; an item that is a list (a YAML alias of "
        "shared overrides) is spliced in",
    )

    @field_validator("set", mode="before")
    @classmethod
    def _splice(cls, items: object) -> object:
        """``[*proxy, a=1]`` -> proxy's items, then ``a=1`` (one level: YAML has no list join)."""
        if not isinstance(items, list):
            return items
        return [x for item in items for x in (item if isinstance(item, list) else [item])]


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


Evaluation = Literal["retrain", "nb201"]
METRICS = {"retrain": "test_error", "nb201": "nb201_cifar10"}
"""What the comparison tests, per evaluation: the re-trained network's test error, or the looked-up
cell's CIFAR-10 test accuracy (%)."""


class Study(Strict):
    """Variants x seeds, how their cells are evaluated, and the comparison to test."""

    name: RunName = Field(description="names the default output directory, runs/studies/NAME")
    seeds: list[int] = Field(min_length=1, description="one cell per variant and seed")
    evaluate: Evaluation = Field(
        "retrain",
        description="retrain: re-train each derived genotype (`train`) and test it; nb201: look "
        "each derived cell up in NAS-Bench-201's table (NB201 spaces only; no re-training)",
    )
    train: Stage | None = Field(
        None, description="the re-training of every variant without its own (evaluate: retrain)"
    )
    variants: dict[str, Variant] = Field(min_length=1, description="name: variant, in order")
    compare: tuple[str, str] | None = Field(
        None,
        description="[A, B]: is A better than B? (Welch's t-test, bootstrap): lower test error, "
        "or with evaluate: nb201 higher CIFAR-10 accuracy",
    )
    cell_train_seconds: float | None = Field(
        None,
        gt=0,
        description="evaluate: nb201: the CPU seconds training one cell at the searches' scale "
        "costs (measured); each variant's random-search baseline is then the best of K = its "
        "searches' CPU seconds / this uniformly drawn cells, picked by true test accuracy (an "
        "upper bound for random search)",
    )
    metric: Literal["test_error", "nb201_cifar10"] | None = Field(
        None,
        description="what the comparison tests; default: the evaluation's (test_error, "
        "nb201_cifar10)",
    )

    @property
    def compared(self) -> str:
        """The metric the comparison tests (``metric``, or the evaluation's)."""
        return self.metric or METRICS[self.evaluate]

    @model_validator(mode="after")
    def _evaluation_fits(self) -> Study:
        if self.evaluate == "retrain":
            if self.train is None and any(v.train is None for v in self.variants.values()):
                raise FieldError(
                    ("train",),
                    "required: the re-training of every variant without its own (or evaluate: "
                    "nb201 to look NAS-Bench-201 cells up instead)",
                )
        else:
            nothing = "with evaluate: nb201 the derived cells are looked up, not re-trained"
            if self.train is not None:
                raise FieldError(("train",), f"means nothing {nothing}: remove it")
            for name, variant in self.variants.items():
                for field in ("train", "set_activation"):
                    if getattr(variant, field) is not None:
                        raise FieldError(
                            ("variants", name, field), f"means nothing {nothing}: remove it"
                        )
        if self.cell_train_seconds is not None and self.evaluate != "nb201":
            raise FieldError(
                ("cell_train_seconds",),
                "sets K for the best-of-K random cells of evaluate: nb201; a re-training study "
                "has no such baseline: remove it",
            )
        if self.metric is not None and self.metric != METRICS[self.evaluate]:
            raise FieldError(
                ("metric",),
                f"{self.metric} is not measured with evaluate: {self.evaluate} (it gives "
                f"{METRICS[self.evaluate]})",
            )
        return self

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
