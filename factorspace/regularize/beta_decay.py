"""beta-DARTS's Beta-Decay regularization (Ye et al., CVPR 2022), per architecture group.

The architecture loss gains ``lambda(e) * L_beta`` with ``L_beta`` the mean over edges of the
smoothmax of the logits, ``log sum_k exp(alpha_k)`` (the paper's Beta-Decay loss; the
reference code's ``mlc_loss`` in ``optimizers/darts/architect.py`` of github.com/Sunshine-Ye/
Beta-DARTS: ``torch.mean(torch.logsumexp(alpha, dim=-1))``). Its gradient is ``softmax(alpha) /
edges``: it pulls every logit down in proportion to its weight, keeping the softmax's values and
their spread from growing (the "decay" of the activated parameters, beta = softmax(alpha)).

``lambda`` grows linearly with the 0-based epoch ``e``: ``coefficient * min(e, ramp_epochs) /
ramp_epochs``; the reference code's ``_backward_step`` has ``weights = 0 + 50*epoch/100``
(coefficient 50, ramp 100 whatever the search's length; its NAS-Bench-201 script searches 100
epochs, its DARTS-space one 50). The mean runs over every edge of the group in every cell type
(the code's one tensor of NAS-Bench-201's edges; DARTS's normal and reduce logits together).
Each group has its own term: a factorized space decays the operators' and the activations'
logits each by their own mean. First order, as the reference code's default (its unrolled branch
drops the term; here ``search.order: second`` keeps it in the validation loss it unrolls).
"""

from __future__ import annotations

import torch

from factorspace.regularize.base import Regularizer, register_regularizer
from factorspace.schema.regularizer import BetaDecayConfig


@register_regularizer("beta_decay")
class BetaDecay(Regularizer):
    config: BetaDecayConfig

    def __init__(self, config: BetaDecayConfig) -> None:
        super().__init__(config)
        self.coefficient = 0.0  # lambda at epoch 0
        self.ramp = config.ramp_epochs

    def set_epoch(self, epoch: int, epochs: int) -> None:
        ramp = self.config.ramp_epochs or epochs
        self.coefficient = self.config.coefficient * min(epoch, ramp) / ramp

    def loss(self, logits: list[torch.Tensor]) -> torch.Tensor | None:
        if self.coefficient == 0:
            return None
        return self.coefficient * beta_decay_loss(logits)


def beta_decay_loss(logits: list[torch.Tensor]) -> torch.Tensor:
    """``mean over every edge of log sum_k exp(alpha_k)``, the edges of all the tensors."""
    return torch.cat([a.reshape(-1, a.shape[-1]) for a in logits]).logsumexp(dim=-1).mean()
