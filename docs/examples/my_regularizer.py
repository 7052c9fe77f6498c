"""A new regularizer in one file: an entropy penalty that pushes each edge's weights apart.

List this module under a recipe's ``imports:`` and select it with
``search.regularizers: [{kind: entropy, weight: 0.1}]`` (every group) or for one group under
``search.regularizer_overrides``. The test suite imports it, runs it and unregisters it.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from factorspace.regularize import Regularizer, register_regularizer
from factorspace.schema.regularizer import RegularizerConfig


# --8<-- [start:member]
class EntropyConfig(RegularizerConfig):
    """The schema member: its fields, bounds and defaults, checked when the recipe loads."""

    kind: Literal["entropy"] = "entropy"
    weight: float = Field(0.1, ge=0, description="the penalty's weight at the last epoch")


# --8<-- [end:member]


# --8<-- [start:strategy]
@register_regularizer("entropy", config=EntropyConfig)
class Entropy(Regularizer):
    """``weight * e / (epochs - 1) * mean over edges of H(softmax(alpha))``, growing linearly."""

    config: EntropyConfig

    def __init__(self, config: EntropyConfig) -> None:
        super().__init__(config)
        self.scale = 0.0

    def set_epoch(self, epoch: int, epochs: int) -> None:
        self.scale = self.config.weight * epoch / max(epochs - 1, 1)

    def loss(self, logits: list[torch.Tensor]) -> torch.Tensor | None:
        # one group's logits, one tensor per cell type (edges x choices)
        if self.scale == 0:
            return None
        rows = torch.cat(logits)
        entropy = -(F.softmax(rows, -1) * F.log_softmax(rows, -1)).sum(-1)
        return self.scale * entropy.mean()


# --8<-- [end:strategy]
