"""A recipe: everything one run needs, as one typed model. A YAML recipe is this model serialized."""

from __future__ import annotations

from pydantic import Field, model_validator

from factorspace.errors import FieldError
from factorspace.schema.data import DataConfig
from factorspace.schema.network import EDGE_GROUP, SupernetConfig
from factorspace.schema.relaxation import check_relaxation_overrides
from factorspace.schema.search import SearchConfig, operator_group
from factorspace.schema.space import SpaceConfig, Strict, did_you_mean


class Recipe(Strict):
    name: str | None = Field(None, description="a label for runs and reports")
    imports: list[str] = Field(
        default_factory=list, description="modules to import first (they register ops/activations)"
    )
    space: SpaceConfig
    supernet: SupernetConfig = Field(default_factory=SupernetConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    data: DataConfig = Field(default_factory=DataConfig)

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
        for i, name in enumerate(self.search.factor_order or []):
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
        check_relaxation_overrides(self.search.relaxation_overrides, self.space.group_names)
        return self

    @model_validator(mode="after")
    def _image_size_fits(self) -> Recipe:
        divisor, size = self.supernet.input_divisor, self.data.image_size
        if size % divisor:
            raise FieldError(
                ("data", "image_size"),
                f"{size} is not a multiple of {divisor}: the supernet halves the input "
                f"{divisor.bit_length() - 1} times (supernet.stem={self.supernet.stem!r}, "
                f"{len(self.supernet.reductions)} reduction cells); use e.g. "
                f"{max(divisor, size // divisor * divisor)}",
            )
        return self


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
