"""NAS-Bench-201's search supernet (Dong & Yang, ICLR 2020) over any factor space.

The network is the benchmark's (xautodl's ``TinyNetworkDarts`` / ``TinyNetworkGDAS``): a 3x3
conv + BN stem with C channels; three stages of N searched cells at C, 2C and 4C channels, a
residual basic block of stride 2 between stages (:class:`~factorspace.ops.nb201.ResNetBasicBlock`,
not searched); BN-ReLU; global average pooling; a linear classifier. A cell has one input (node 0)
and nodes 1..n, each the sum of one mixed edge from every earlier node; its output is node n. Every
searched cell shares one architecture-parameter set (cell type ``normal``): the benchmark has no
reduction cell type.

The edges are :mod:`factorspace.compile.edge`'s mixed edges, so every mode (factorized, joint),
relaxation (softmax, gumbel, dirichlet) and update works as in DARTS's supernet. Operators are
built as the benchmark's search cells build them (:func:`nb201_search_op`): non-affine BatchNorm,
no BatchNorm after pooling (that one is a DARTS-family convention), and by default BatchNorm
without running statistics (``supernet.track_running_stats``, see
:class:`~factorspace.schema.network.NB201SupernetConfig` for why).

Speed (:func:`nb201_weighted`, each edge's term function): the ReLU that starts both
``nor_conv`` operations of an edge is computed once for both, ``avg_pool_3x3`` is a box filter
with its weight folded in (:func:`~factorspace.ops.nb201.weighted_box_pool`), and the BatchNorms
are torch's own (faster than factorspace's channels_last kernel at these sizes). Values and
gradients equal the benchmark's model to rounding (tests/compile/test_nb201_xautodl.py, fp64).
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from factorspace.compile.base import SupernetBase
from factorspace.compile.edge import OpBuilder, add_all, build_edge, weighted
from factorspace.ops.fused import fused_mix
from factorspace.ops.nb201 import (
    BOX_POOL_MIN_ELEMENTS,
    ResNetBasicBlock,
    is_box_pool,
    weighted_box_pool,
)
from factorspace.registry import OPERATORS
from factorspace.relax import ForwardWeights, Relaxation
from factorspace.schema.network import DEFAULT_JOINT_WEIGHTS, JointWeights, NB201SupernetConfig
from factorspace.space import Candidate, Space

CELL_TYPE = "normal"  # the one cell type: every searched cell shares its parameters


def batch_statistics_only(module: nn.Module) -> nn.Module:
    """Make every BatchNorm in ``module`` normalise by the batch's statistics, also in eval
    mode, and keep none (``track_running_stats=False``); returns ``module``."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.track_running_stats = False
            m.running_mean = m.running_var = m.num_batches_tracked = None
    return module


def nb201_search_op(
    candidate: Candidate, channels: int, stride: int, track_running_stats: bool = False
) -> nn.Module:
    """An operator as the benchmark's search cells build it: non-affine BatchNorm, nothing
    appended (DARTS's search supernet adds a BatchNorm after pooling; this one does not)."""
    op = OPERATORS.get(candidate.op).build(
        channels, stride, False, **candidate.constructor_arguments()
    )
    return op if track_running_stats else batch_statistics_only(op)


def nb201_weighted(
    op: nn.Module, h: torch.Tensor, w: torch.Tensor | None, shared: dict
) -> torch.Tensor:
    """``w * op(h)`` as :func:`~factorspace.compile.edge.weighted` computes it, except: an
    operation that starts with a (not in-place) ReLU takes ``relu(h)`` from ``shared``, computed
    once per edge call and input (``nor_conv_1x1`` and ``nor_conv_3x3``: the same value, and its
    backward once for the sum of both gradients, which ReLU's mask passes alike); the 3x3 average
    pool is :func:`~factorspace.ops.nb201.weighted_box_pool` on inputs where that is faster."""
    if h.numel() >= BOX_POOL_MIN_ELEMENTS and is_box_pool(op):
        return weighted_box_pool(h, w)
    if isinstance(op, nn.Sequential) and len(op) > 1:
        first = op[0]
        if type(first) is nn.ReLU and not first.inplace:
            key = ("relu", id(h))
            if key not in shared:  # keeps h too, so that its id names it for the whole call
                shared[key] = (h, first(h))
            return weighted(op, shared[key][1], w, start=1)
    return weighted(op, h, w)


class NB201SearchCell(nn.Module):
    """Node ``t`` (1..n) is the sum of the mixed edges from nodes ``0..t-1``; outputs node n."""

    def __init__(
        self,
        space: Space,
        channels: int,
        joint_weights: JointWeights = DEFAULT_JOINT_WEIGHTS,
        build_op: OpBuilder = nb201_search_op,
    ) -> None:
        super().__init__()
        edges = space.edge_list()
        self.edges = nn.ModuleList(
            build_edge(space, channels, 1, joint_weights, build_op) for _ in edges
        )
        for edge in self.edges:
            edge.set_weigh(nb201_weighted)
        # per node 1..n: (edge index, source node), in source order
        self.incoming = [
            [(k, s) for k, (s, t) in enumerate(edges) if t == node]
            for node in range(1, space.nodes + 1)
        ]

    def forward(self, x: torch.Tensor, weights: dict[str, ForwardWeights]) -> torch.Tensor:
        states = [x]
        for incoming in self.incoming:
            states.append(add_all([self._edge(k, states[s], weights) for k, s in incoming]))
        return states[-1]

    def _edge(self, k: int, h: torch.Tensor, weights: dict[str, ForwardWeights]) -> torch.Tensor:
        chosen = {f: w.chosen[k] for f, w in weights.items() if w.chosen is not None}
        return self.edges[k](h, {f: w.values[k] for f, w in weights.items()}, chosen)


class NB201Supernet(SupernetBase):
    """NAS-Bench-201's search network: ``forward(images) -> logits``."""

    def __init__(
        self,
        space: Space,
        config: NB201SupernetConfig,
        relaxations: dict[str, Relaxation] | None = None,
    ) -> None:
        super().__init__(space, config, relaxations)
        c = config.channels
        self.stem = nn.Sequential(
            nn.Conv2d(config.in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        )
        build_op = partial(nb201_search_op, track_running_stats=config.track_running_stats)
        self.cells = nn.ModuleList()
        c_prev = c
        for stage in range(config.STAGES):
            c_stage = c * 2**stage
            if stage:
                self.cells.append(ResNetBasicBlock(c_prev, c_stage, 2))
            for _ in range(config.cells_per_stage):
                self.cells.append(NB201SearchCell(space, c_stage, config.joint_weights, build_op))
            c_prev = c_stage
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU())
        self.classifier = nn.Linear(c_prev, config.classes)
        if config.fused_activation:
            self.set_mixing(partial(fused_mix, hashed=config.rrelu_noise == "hashed"))
        self.init_arch()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.forward_weights()[CELL_TYPE]
        s = self.stem(x)
        for cell in self.cells:
            s = cell(s, weights) if isinstance(cell, NB201SearchCell) else cell(s)
        out = F.adaptive_avg_pool2d(self.lastact(s), 1).flatten(1)
        return self.classifier(out)
