"""GDAS (Dong & Yang, CVPR 2019): one hard Gumbel-softmax sample per edge, only it computed.

As GDAS's ``get_gumbel_prob`` (AutoDL-Projects, ``search_model_gdas*.py``): ``g = -log(Exp(1))``,
``p = softmax((log_softmax(logits) + g) / tau)`` (the same as ``softmax((logits + g) / tau)``),
the sample is ``argmax p`` and the forward weight is ``one_hot + (p - p.detach())``: exactly
one-hot in value, ``p``'s gradient (straight-through). The edge computes only the sampled choice;
the others add their weight (zero in value) so their logits get the straight-through gradient too,
as GDAS's ``forward_gdas`` does. The temperature falls linearly from ``tau_max`` at the first epoch
to ``tau_min`` at the last (GDAS: ``tau_max - (tau_max - tau_min) * epoch / (epochs - 1)``).

Evaluation (the per-epoch validation) computes the argmax choice of each edge (the architecture
derivation would keep), one-hot and deterministic. Probabilities for derivation and records:
``softmax(logits)``, as GDAS's ``genotype()``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from factorspace.relax.base import ForwardWeights, Relaxation, register_relaxation
from factorspace.schema.relaxation import GumbelConfig

REDRAWS = 10  # GDAS draws again when a sample is not finite (an Exp(1) draw of exactly 0)


@register_relaxation("gumbel")
class Gumbel(Relaxation):
    config: GumbelConfig
    samples_paths = True

    def __init__(self, config: GumbelConfig) -> None:
        super().__init__(config)
        self.tau = config.tau_max

    def set_epoch(self, epoch: int, epochs: int) -> None:
        cfg = self.config
        span = max(epochs - 1, 1)  # one epoch: tau_max throughout
        self.tau = cfg.tau_max - (cfg.tau_max - cfg.tau_min) * min(epoch, span) / span

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return F.softmax(logits, dim=-1)

    def train_weights(self, logits: torch.Tensor) -> ForwardWeights:
        for _ in range(REDRAWS):
            gumbels = -torch.empty_like(logits).exponential_().log()
            p = F.softmax((logits.log_softmax(dim=-1) + gumbels) / self.tau, dim=-1)
            if bool(torch.isfinite(p).all()):
                break
        return hard(p)

    def eval_weights(self, logits: torch.Tensor) -> ForwardWeights:
        return hard(logits.detach())


def hard(p: torch.Tensor) -> ForwardWeights:
    """One-hot at each row's argmax in value, with ``p``'s gradient (straight-through)."""
    index = p.argmax(dim=-1)
    one_hot = torch.zeros_like(p).scatter_(-1, index.unsqueeze(-1), 1.0)
    return ForwardWeights(one_hot + (p - p.detach()), index.tolist())
