"""A recipe: everything one run needs, as one typed model. A YAML recipe is this model serialized."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field, model_validator

from factorspace.errors import FieldError
from factorspace.schema.data import DataConfig
from factorspace.schema.limits import (
    LimitsConfig,
    Sizes,
    check_evaluation_batch,
    check_memory,
    tensors_per_edge,
)
from factorspace.schema.limits import memory_driver as limits_memory_driver
from factorspace.schema.network import EDGE_GROUP, AnySupernet, SupernetConfig
from factorspace.schema.regularizer import check_regularizer_overrides
from factorspace.schema.relaxation import check_relaxation_overrides
from factorspace.schema.search import SearchConfig, operator_group
from factorspace.schema.selection import check_selection_overrides
from factorspace.schema.space import CellConfig, RunName, SpaceConfig, Strict, did_you_mean


class Recipe(Strict):
    name: RunName | None = Field(
        None, description="a label for runs and reports (no `/`, printable, at most 100 characters)"
    )
    imports: list[str] = Field(
        default_factory=list, description="modules to import first (they register ops/activations)"
    )
    space: SpaceConfig
    supernet: AnySupernet = Field(
        default_factory=SupernetConfig,
        description="the search network: DARTS's (kind darts, the default) or NAS-Bench-201's "
        "(kind nb201); its kind must be space.cell's",
    )
    search: SearchConfig = Field(default_factory=SearchConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)

    @model_validator(mode="after")
    def _factor_names(self) -> Recipe:
        names = [f.name for f in self.space.factors]
        if self.supernet.edge_normalization:
            if EDGE_GROUP in names:
                raise FieldError(
                    ("space", "factors", names.index(EDGE_GROUP), "name"),
                    f"{EDGE_GROUP!r} names the edge-normalisation weights "
                    "(supernet.edge_normalization); rename this factor",
                )
            names.append(EDGE_GROUP)
            check_edge_weights_group(self.search, operator_group(self.space))
        order = self.search.factor_order or []
        for i, name in enumerate(order):
            if order.index(name) != i:
                raise FieldError(
                    ("search", "factor_order", i),
                    f"{name!r} is listed twice (also at factor_order[{order.index(name)}]); "
                    "each factor steps once per iteration: list it once",
                )
            if name not in names:
                raise FieldError(
                    ("search", "factor_order", i),
                    f"unknown factor {name!r}{did_you_mean(name, names)}; factors: {', '.join(names)}",
                )
        for name in self.search.arch_overrides:
            if name not in names:
                raise FieldError(
                    ("search", "arch_overrides", name),
                    f"unknown factor {name!r}{did_you_mean(name, names)}; factors: {', '.join(names)}",
                )
        groups = self.space.group_names
        check_relaxation_overrides(self.search.relaxation_overrides, groups)
        check_regularizer_overrides(self.search.regularizer_overrides, groups)
        check_selection_overrides(self.search.selection_overrides, groups)
        return self

    @model_validator(mode="after")
    def _one_family(self) -> Recipe:
        cell, net = self.space.cell.kind, self.supernet.kind
        if cell != net:
            raise FieldError(
                ("supernet", "kind"),
                f"{net!r}, but space.cell.kind is {cell!r}: the network must be the cell's "
                f"family; set supernet.kind: {cell} (with that family's sizes) or "
                f"space.cell.kind: {net}",
            )
        check = getattr(self.space.cell, "check_recipe", None)
        if check is not None:  # the family's own cross-field rules
            check(self)
        return self

    @model_validator(mode="after")
    def _image_size_fits(self) -> Recipe:
        divisor, size = self.supernet.input_divisor, self.data.image_size
        if size % divisor:
            raise FieldError(
                ("data", "image_size"),
                f"{size} is not a multiple of {divisor}: the supernet halves the input "
                f"{divisor.bit_length() - 1} times ({self.supernet.input_divisor_reason()}); "
                f"use e.g. {max(divisor, size // divisor * divisor)}",
            )
        return self

    @model_validator(mode="after")
    def _rgb_input(self) -> Recipe:
        if self.supernet.in_channels != IMAGE_CHANNELS:
            raise FieldError(
                ("supernet", "in_channels"),
                f"{self.supernet.in_channels}, but data.dataset={self.data.dataset!r} gives "
                f"{IMAGE_CHANNELS}-channel (RGB) images; set supernet.in_channels: "
                f"{IMAGE_CHANNELS}",
            )
        return self

    @model_validator(mode="after")
    def _fits_in_memory(self) -> Recipe:
        per_edge = tensors_per_edge(self.space)
        sizes, limit = search_sizes(self), self.limits.memory
        check_memory(sizes, per_edge, limit, size_reference(self), "the search")
        evaluation = replace(sizes, batch_size=self.search.eval_batch)
        check_evaluation_batch(evaluation, per_edge, limit, ("search", "eval_batch_size"))
        return self


IMAGE_CHANNELS = 3  # every dataset factorspace reads gives RGB images (data.datasets)

# The fields that scale the memory estimate, where they live in a recipe, and their defaults.
SIZE_FIELDS = {
    "channels": ("supernet", "channels"),
    "cells": ("supernet", "cells"),
    "nodes": ("space", "cell", "nodes"),
    "image_size": ("data", "image_size"),
    "batch_size": ("search", "batch_size"),
    "classes": ("supernet", "classes"),
}


def search_sizes(recipe: Recipe) -> Sizes:
    """The sizes of ``recipe``'s search supernet that its memory depends on (its ``supernet``
    member's :meth:`estimate_sizes`)."""
    return recipe.supernet.estimate_sizes(recipe)


def size_reference(recipe: Recipe) -> dict[str, tuple[tuple[str, ...], int]]:
    """Size name -> (its field in ``recipe``, its usual value), for the estimate's driver: the
    ``supernet`` member's ``SIZE_REFERENCE``, else DARTS's fields and defaults."""
    reference = getattr(recipe.supernet, "SIZE_REFERENCE", None)
    if reference is not None:
        return reference
    return {name: (loc, _default(loc)) for name, loc in SIZE_FIELDS.items()}


def memory_driver(sizes: Sizes, per_edge: int, recipe: Recipe | None = None) -> tuple[str, ...]:
    """The search field whose default would shrink the estimate most (see
    :func:`factorspace.schema.limits.memory_driver`); ``recipe`` picks its family's fields
    (``None``: DARTS's)."""
    reference = (
        size_reference(recipe)
        if recipe is not None
        else {name: (loc, _default(loc)) for name, loc in SIZE_FIELDS.items()}
    )
    return limits_memory_driver(sizes, per_edge, reference)


DEFAULT_MODELS = {"supernet": SupernetConfig, "space.cell": CellConfig}
"""The DARTS member of each union section: where :func:`_default` reads the usual sizes."""


def _default(loc: tuple[str, ...]) -> int:
    section, *rest = loc
    model = DEFAULT_MODELS.get(section) or Recipe.model_fields[section].annotation
    for part in rest[:-1]:
        model = DEFAULT_MODELS.get(f"{section}.{part}") or model.model_fields[part].annotation
    return model.model_fields[rest[-1]].default


def check_edge_weights_group(search: SearchConfig, op_group: str | None) -> None:
    """Under ``edge_weights: with_operator`` the edge weights have no group of their own to
    order or configure (unless the operator is fixed: then they keep one)."""
    if search.edge_weights != "with_operator" or op_group is None:
        return
    hint = (
        f"under search.edge_weights=with_operator the edge weights step in the {op_group!r} "
        f"group's optimizer; set search.edge_weights=own_group to give them their own"
    )
    if EDGE_GROUP in (search.factor_order or []):
        i = search.factor_order.index(EDGE_GROUP)
        raise FieldError(("search", "factor_order", i), f"{EDGE_GROUP!r}: {hint}")
    if EDGE_GROUP in search.arch_overrides:
        raise FieldError(("search", "arch_overrides", EDGE_GROUP), hint)
