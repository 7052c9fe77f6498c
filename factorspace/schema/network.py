"""Sizes of the search supernet (DARTS's ``model_search.Network``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from factorspace.errors import FieldError
from factorspace.schema.space import Strict


class SupernetConfig(Strict):
    channels: int = Field(16, ge=2, description="initial channels C (DARTS search: 16)")
    cells: int = Field(8, ge=1, description="stacked cells (DARTS search: 8)")
    reduction_cells: list[int] | None = Field(
        None, description="indices of reduction cells (default: cells//3 and 2*cells//3)"
    )
    stem_multiplier: int = Field(3, ge=1, description="stem outputs stem_multiplier * C channels")
    classes: int = Field(10, ge=2)
    in_channels: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _check(self) -> SupernetConfig:
        if self.channels % 2:
            raise FieldError(
                ("channels",), f"must be even (FactorizedReduce halves it): {self.channels}"
            )
        for i, r in enumerate(self.reduction_cells or []):
            if not 0 <= r < self.cells:
                raise FieldError(
                    ("reduction_cells", i), f"{r} is not a cell index 0..{self.cells - 1}"
                )
        return self

    @property
    def reductions(self) -> list[int]:
        """DARTS convention: reductions at 1/3 and 2/3 of the depth."""
        if self.reduction_cells is not None:
            return sorted(set(self.reduction_cells))
        return sorted({self.cells // 3, 2 * self.cells // 3})
