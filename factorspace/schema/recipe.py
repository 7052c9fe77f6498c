"""A recipe: everything one run needs, as one typed model. A YAML recipe is this model serialized."""

from __future__ import annotations

from pydantic import Field, model_validator

from factorspace.errors import FieldError
from factorspace.schema.data import DataConfig
from factorspace.schema.network import SupernetConfig
from factorspace.schema.search import SearchConfig
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
        return self
