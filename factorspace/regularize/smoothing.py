"""SDARTS-RS's random smoothing (Chen & Hsieh, ICML 2020), per architecture group.

The weight step trains the supernet's weights under architecture weights perturbed at random,
``min_w E_{delta ~ U[-eps, eps]} L_train(w, A + delta)`` (the paper's SDARTS-RS objective), one
draw per step: the reference code (github.com/xiangning-chen/SmoothDARTS,
``sota/cnn/train_search.py`` and ``attacker/perturb.py``'s ``Random_alpha``) turns the logits
into their softmax, adds uniform noise in ``[-eps, eps]`` to every weight, and projects each
edge's row back onto the simplex with the model's ``clip()``: clamp to ``[0, 1]``; a row that became all zeros takes 1 at its
largest (perturbed) entry; divide by the row's sum. The architecture step and the evaluation see
the unperturbed softmax. ``eps`` grows linearly with the 0-based epoch ``e``:
``eps_min + (eps_max - eps_min) * e / epochs`` (the code's ``0.03 + (args.epsilon_alpha - 0.03)
* epoch / args.epochs``, ``--epsilon_alpha 0.3``).

Here the perturbed weights are the relaxation's training weights (DARTS: the softmax; DrNAS: its
Dirichlet sample) of each group on its own, one noise draw per group and cell type: a factorized
space smooths the operators' and the activations' weights independently. A hard relaxation
(GDAS) computes one sampled choice per edge, which a perturbation of the others cannot reach: it
is refused.
"""

from __future__ import annotations

import torch

from factorspace.errors import FactorspaceError
from factorspace.regularize.base import Regularizer, register_regularizer
from factorspace.relax import ForwardWeights
from factorspace.schema.regularizer import RandomSmoothingConfig


@register_regularizer("random_smoothing")
class RandomSmoothing(Regularizer):
    config: RandomSmoothingConfig
    perturbs = True

    def __init__(self, config: RandomSmoothingConfig) -> None:
        super().__init__(config)
        self.epsilon = config.epsilon_min

    def set_epoch(self, epoch: int, epochs: int) -> None:
        cfg = self.config
        self.epsilon = cfg.epsilon_min + (cfg.epsilon_max - cfg.epsilon_min) * epoch / epochs

    def check(self, group: str, relaxation) -> None:
        if relaxation.samples_paths:
            raise FactorspaceError(
                f"random_smoothing perturbs the weights of every choice, but group {group!r}'s "
                f"relaxation {relaxation.config.kind!r} computes one sampled choice per edge; use "
                "softmax or dirichlet for it, or leave it out with "
                f"search.regularizer_overrides.{group}: []",
                field="search.regularizers",
            )

    def noise(self, values: torch.Tensor) -> torch.Tensor:
        """One draw of ``U[-eps, eps]`` per weight."""
        return torch.empty_like(values).uniform_(-self.epsilon, self.epsilon)

    def perturb(self, weights: ForwardWeights) -> ForwardWeights:
        values = weights.values.detach()  # the weight step differentiates the weights only
        return ForwardWeights(smooth(values, self.noise(values)), weights.chosen)


def smooth(values: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``values + noise`` put back on the simplex, row by row, as SDARTS's ``clip()``: clamped to
    [0, 1]; an all-zero row gets 1 at its largest perturbed entry; divided by its sum."""
    noisy = values + noise
    top = noisy.argmax(dim=-1, keepdim=True)
    clamped = noisy.clamp(0.0, 1.0)
    empty = clamped.sum(dim=-1, keepdim=True) == 0
    clamped = torch.where(empty, torch.zeros_like(clamped).scatter(-1, top, 1.0), clamped)
    return clamped / clamped.sum(dim=-1, keepdim=True)
