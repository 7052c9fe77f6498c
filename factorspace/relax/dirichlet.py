"""DrNAS (Chen et al., ICLR 2021): edge weights sampled from a Dirichlet distribution.

As DrNAS's ``model_search.py`` (github.com/xiangning-chen/DrNAS): the concentration is
``elu(logits) + 1`` (positive), a training forward uses a reparameterised sample
(``Dirichlet.rsample``, pathwise gradients), and the architecture loss adds
``reg_scale * sum KL(Dir(concentration) || Dir(prior))`` over the edges of both cell types
(DrNAS: prior 1, reg_scale 1e-3). Evaluation, derivation and the records use the Dirichlet mean
``concentration / sum(concentration)`` (DrNAS reports the architecture of the mean).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions import Dirichlet as DirichletDistribution
from torch.distributions import kl_divergence

from factorspace.relax.base import ForwardWeights, Relaxation, register_relaxation
from factorspace.schema.relaxation import DirichletConfig


def concentration(logits: torch.Tensor) -> torch.Tensor:
    return F.elu(logits) + 1


@register_relaxation("dirichlet")
class Dirichlet(Relaxation):
    config: DirichletConfig

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        c = concentration(logits)
        return c / c.sum(dim=-1, keepdim=True)

    def train_weights(self, logits: torch.Tensor) -> ForwardWeights:
        return ForwardWeights(DirichletDistribution(concentration(logits)).rsample())

    def eval_weights(self, logits: torch.Tensor) -> ForwardWeights:
        return ForwardWeights(self.probabilities(logits))

    def loss(self, logits: torch.Tensor) -> torch.Tensor | None:
        if self.config.reg_scale == 0:
            return None
        c = concentration(logits)
        prior = DirichletDistribution(torch.full_like(c, self.config.prior))
        return self.config.reg_scale * kl_divergence(DirichletDistribution(c), prior).sum()
