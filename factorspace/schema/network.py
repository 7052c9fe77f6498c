"""Sizes and options of the search supernet (DARTS's ``model_search.Network``; PC-DARTS's)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from factorspace.errors import FieldError
from factorspace.schema.space import Strict

EDGE_GROUP = "edge"  # the architecture-parameter group of edge normalisation

JointWeights = Literal["separate", "shared"]
DEFAULT_JOINT_WEIGHTS: JointWeights = "separate"  # the one default; the compiler reads it too


class SupernetConfig(Strict):
    channels: StrictInt = Field(16, ge=2, description="initial channels C (DARTS search: 16)")
    cells: StrictInt = Field(8, ge=1, description="stacked cells (DARTS search: 8)")
    reduction_cells: list[StrictInt] | None = Field(
        None, description="indices of reduction cells (default: cells//3 and 2*cells//3)"
    )
    stem_multiplier: StrictInt = Field(
        3, ge=1, description="stem outputs stem_multiplier * C channels"
    )
    classes: StrictInt = Field(10, ge=2)
    in_channels: StrictInt = Field(3, ge=1)
    stem: Literal["cifar", "imagenet"] = Field(
        "cifar",
        description="cifar: one 3x3 conv (DARTS); imagenet: three stride-2 3x3 convs, the input "
        "8x smaller at the first cell (PC-DARTS's ImageNet search network)",
    )
    partial_channels: StrictInt = Field(
        1,
        ge=1,
        description="PC-DARTS's K: each edge mixes its first C/K channels, the rest bypass it "
        "(max-pooled on reduction edges), then channel_shuffle(K); 1: off",
    )
    edge_normalization: StrictBool = Field(
        False,
        description="PC-DARTS's edge normalisation: one weight per edge, softmax over each "
        "node's inputs, searched as the architecture group `edge`",
    )
    joint_weights: JointWeights = Field(
        DEFAULT_JOINT_WEIGHTS,
        description="mode joint only (ignored by a factorized space, whose operators are one "
        "module each by construction): separate: every candidate (activation + operator, a "
        "'super-operator') is its own module with its own weights, activation parameters and "
        "BatchNorm, as DARTS over the paper's 40 super-operators (§3); shared: the candidates of "
        "one operator share its module (weights and BatchNorm) and each activation module is "
        "shared by the operators it precedes, the factorized space's weights",
    )

    fused_activation: StrictBool = Field(
        True,
        description="factorized spaces: compute eq. 2's mixed activation with fused forms "
        "(factorspace.ops.fused), compiled into one kernel per direction where a compiler is "
        "available: one tensor kept per edge for the backward pass instead of one per "
        "activation, and faster; values and gradients equal autograd's to rounding, not bit for "
        "bit. Activations without a fused form are computed as before. Default on since "
        "2026-12-06 (a run recorded without the field resumes with it off, as it ran). "
        "search.compile uses the compiled autograd mix instead",
    )

    @model_validator(mode="after")
    def _check(self) -> SupernetConfig:
        if self.channels % 2:
            raise FieldError(
                ("channels",), f"must be even (FactorizedReduce halves it): {self.channels}"
            )
        k = self.partial_channels
        if self.channels % k:
            raise FieldError(
                ("partial_channels",),
                f"K={k} must divide channels={self.channels}: an edge mixes channels/K of them; "
                f"set channels to a multiple of {k} or change partial_channels",
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

    @property
    def input_divisor(self) -> int:
        """Image sides must be multiples of this: the stem and each reduction halve them."""
        stem_halvings = 3 if self.stem == "imagenet" else 0
        return 2 ** (stem_halvings + len(self.reductions))
