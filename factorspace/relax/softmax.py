"""DARTS (Liu et al. 2019): a softmax over each edge's choices; every choice is computed."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from factorspace.relax.base import Relaxation, register_relaxation


@register_relaxation("softmax")
class Softmax(Relaxation):
    """Forward weights, probabilities and derivation all read ``softmax(logits)``; no loss term."""

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return F.softmax(logits, dim=-1)
