"""PC-DARTS's partial channel connections (Xu et al. 2019) around any mixed edge.

An edge of ``C`` channels sends its first ``C/K`` channels through the mixed operation (built at
``C/K`` channels) and lets the other ``C - C/K`` bypass it, max-pooled 2x2 on a reduction edge so
that both halves match; the two are concatenated and channel-shuffled in ``K`` groups, so the next
edge mixes other channels. The mixed edge is :func:`factorspace.compile.edge.build_edge`'s,
unchanged: any space, factorized or joint (separate or shared weights), gets partial channels.
"""

from __future__ import annotations

import torch
from torch import nn

from factorspace.compile.edge import build_edge
from factorspace.schema.network import DEFAULT_JOINT_WEIGHTS, JointWeights
from factorspace.space import Space


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's shuffle: channel ``g * (C/groups) + i`` moves to ``i * groups + g``.

    A channels-last tensor stays channels-last (its channels are the innermost axis).
    """
    n, c, h, w = x.shape
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        nhwc = x.permute(0, 2, 3, 1).reshape(n, h, w, groups, c // groups)
        return nhwc.transpose(3, 4).reshape(n, h, w, c).permute(0, 3, 1, 2)
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class PartialEdge(nn.Module):
    """``channel_shuffle(cat(edge(x[:, :C/K]), bypass(x[:, C/K:])), K)``; ``edge`` is the mixed
    edge at ``C/K`` channels, ``bypass`` the identity or, with stride 2, ``MaxPool2d(2, 2)``."""

    def __init__(
        self,
        space: Space,
        channels: int,
        stride: int,
        k: int,
        joint_weights: JointWeights = DEFAULT_JOINT_WEIGHTS,
    ) -> None:
        super().__init__()
        self.k, self.mixed = k, channels // k
        self.edge = build_edge(space, self.mixed, stride, joint_weights)
        self.bypass = nn.MaxPool2d(2, 2) if stride == 2 else nn.Identity()

    def forward(
        self,
        x: torch.Tensor,
        weights: dict[str, torch.Tensor],
        chosen: dict[str, int] | None = None,
    ) -> torch.Tensor:
        mixed = self.edge(x[:, : self.mixed], weights, chosen)
        if self.k == 1:  # nothing bypasses
            return mixed
        out = torch.cat([mixed, self.bypass(x[:, self.mixed :])], dim=1)
        return channel_shuffle(out, self.k)


def build_partial_edge(
    space: Space,
    channels: int,
    stride: int,
    k: int,
    joint_weights: JointWeights = DEFAULT_JOINT_WEIGHTS,
) -> nn.Module:
    """The edge of a search cell: a plain mixed edge for ``k == 1``, else a :class:`PartialEdge`;
    ``joint_weights`` as :func:`~factorspace.compile.edge.build_edge`."""
    if k == 1:
        return build_edge(space, channels, stride, joint_weights)
    return PartialEdge(space, channels, stride, k, joint_weights)
