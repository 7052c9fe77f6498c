"""A new relaxation in one file: a softmax whose temperature anneals over the search.

List this module under a recipe's ``imports:`` and select it with
``search.relaxation: {kind: annealed_softmax, start: 5.0, end: 0.5}`` (or for one factor, under
``search.relaxation_overrides``). The test suite imports it, runs it and unregisters it.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from factorspace.relax import ForwardWeights, Relaxation, register_relaxation
from factorspace.schema.relaxation import RelaxationConfig


# --8<-- [start:member]
class AnnealedSoftmaxConfig(RelaxationConfig):
    """The schema member: its fields, bounds and defaults, checked when the recipe loads."""

    kind: Literal["annealed_softmax"] = "annealed_softmax"
    start: float = Field(5.0, gt=0, description="temperature at the first epoch")
    end: float = Field(0.5, gt=0, description="temperature at the last epoch")


# --8<-- [end:member]


# --8<-- [start:strategy]
@register_relaxation("annealed_softmax", config=AnnealedSoftmaxConfig)
class AnnealedSoftmax(Relaxation):
    """``softmax(logits / T)``, ``T`` going geometrically from ``start`` to ``end``."""

    config: AnnealedSoftmaxConfig

    def __init__(self, config: AnnealedSoftmaxConfig) -> None:
        super().__init__(config)
        self.temperature = config.start

    def set_epoch(self, epoch: int, epochs: int) -> None:
        fraction = epoch / max(epochs - 1, 1)
        self.temperature = self.config.start * (self.config.end / self.config.start) ** fraction

    def train_weights(self, logits: torch.Tensor) -> ForwardWeights:
        # what the supernet mixes with (eval_weights defaults to the same)
        return ForwardWeights(F.softmax(logits / self.temperature, dim=-1))

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        # what derivation and the records read: the plain softmax, as DARTS
        return F.softmax(logits, dim=-1)


# --8<-- [end:strategy]
