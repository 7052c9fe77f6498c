"""DARTS-'s auxiliary skip connection (Chu et al., ICLR 2021), on every edge.

Each mixed edge outputs ``mixed(x) + beta(e) * skip(x)``: a skip connection that is no candidate
of any softmax, whose weight ``beta`` decays to 0 over the search, so that the candidate skip
connection no longer wins for the residual path it provides (the paper's "unfair advantage") and
the final cell, derived at ``beta = 0``, is the supernet without it. As the reference code
(github.com/Meituan-AutoML/DARTS-, ``src/search/model_search.py``'s ``MixedOp``): ``skip`` is
the identity, or on a stride-2 edge (a reduction cell's edges from its inputs) a
``FactorizedReduce(C, C, affine=False)`` trained with the weights; the term is added to the mixed
edge's output in every forward pass (the weight step, the architecture step, the evaluation).
``beta`` at the 0-based epoch ``e`` (``src/utils.py``'s ``DecayScheduler``, stepped at the start
of each epoch): linear ``beta0 * (T - e) / T`` (``scripts/run_darts_minus.sh``: ``--decay
linear --skip_beta 1``), or cosine ``beta0 * (1 + cos(pi * e / T)) / 2``; ``T`` is
``--decay_max_epoch`` 50, the search's epochs; past ``T``, 0.

In a factorized space the auxiliary skip lies outside every factor's softmax: the edge's mixed
output (eq. 1 over the operator, its input transforms and arguments) gets the skip added once,
not per activation; it is the same path in the joint mode. Under PC-DARTS's partial channels it is
added to the edge's whole output (all channels), before the edge-normalisation weight, as
DARTS-'s ``MixedOp`` is before PC-DARTS's.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from factorspace.ops import FactorizedReduce
from factorspace.regularize.base import Regularizer, register_regularizer
from factorspace.schema.regularizer import AuxiliarySkipConfig


@register_regularizer("auxiliary_skip")
class AuxiliarySkip(Regularizer):
    config: AuxiliarySkipConfig
    edge_level = True

    def __init__(self, config: AuxiliarySkipConfig) -> None:
        super().__init__(config)
        self.beta = config.beta
        self.handles: list = []

    def set_epoch(self, epoch: int, epochs: int) -> None:
        self.beta = decayed_beta(self.config, epoch, epochs)

    def install(self, net: nn.Module) -> None:
        """Give every edge of ``net`` its skip path (a module on stride-2 edges) and a forward
        hook adding ``beta * skip(x)`` to the edge's output."""
        for edge, channels, stride in net.mixed_edges():
            if stride != 1:
                edge.auxiliary_skip = FactorizedReduce(channels, channels, affine=False)
            self.handles.append(edge.register_forward_hook(self._add_skip))

    def _add_skip(self, edge: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        if self.beta == 0:
            return output
        x = args[0]
        skip = getattr(edge, "auxiliary_skip", None)
        return output + self.beta * (x if skip is None else skip(x))


def decayed_beta(config: AuxiliarySkipConfig, epoch: int, epochs: int) -> float:
    """``beta`` at the 0-based ``epoch`` (DARTS-'s ``DecayScheduler``; 0 from ``T`` on)."""
    t = config.decay_epochs or epochs
    if epoch >= t:
        return 0.0
    if config.decay == "linear":
        return config.beta * (t - epoch) / t
    return config.beta * (1 + math.cos(math.pi * epoch / t)) / 2
