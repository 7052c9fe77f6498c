"""The search supernet: DARTS's ``model_search.Network`` over any factor space.

Conventions kept exactly (Liu et al. 2019): a 3x3 conv + BN stem with ``stem_multiplier * C``
channels; reductions at 1/3 and 2/3 of the depth doubling the channels; a cell's inputs are
preprocessed by FactorizedReduce (after a reduction) or ReLU-1x1conv-BN, non-affine; edges from
the two inputs of a reduction cell have stride 2; a cell outputs the concat of its intermediate
nodes; global average pooling and a linear classifier. Architecture parameters (1e-3 * randn,
as DARTS) are kept apart from the weights, one tensor per factor per cell type.

PC-DARTS's options (Xu et al. 2019, ``model_search.py``): ``partial_channels`` K wraps each edge
in a :class:`~factorspace.compile.partial.PartialEdge`; ``edge_normalization`` adds one weight per
edge (group ``edge``), softmax over each node's inputs, so that a node is
``sum_j beta_j * edge_j(h_j)``; ``stem: imagenet`` is its ImageNet search stem (three stride-2
3x3 convs; the first cell's ``c_{k-2}`` input is at twice the resolution, hence reduced).

A joint space (the paper's non-factorized baseline) gives every candidate its own module, as DARTS
does, unless ``joint_weights: shared`` (:mod:`factorspace.compile.edge`).

Each architecture group has a relaxation (:mod:`factorspace.relax`; DARTS's softmax unless the
search says otherwise): it gives the forward weights (:meth:`Supernet.forward_weights`), the
probabilities that derivation and the records read (:meth:`Supernet.arch_probabilities`), an
optional architecture-loss term (:meth:`Supernet.relaxation_loss`) and a per-epoch schedule
(:meth:`Supernet.set_epoch`). The edge-normalisation weights stay a softmax (PC-DARTS).
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from factorspace.compile.base import SupernetBase
from factorspace.compile.edge import add_all
from factorspace.compile.partial import build_partial_edge
from factorspace.errors import FactorspaceError
from factorspace.ops import BatchNorm2d, FactorizedReduce, ReLUConvBN, cat_channels
from factorspace.ops.fused import fused_mix
from factorspace.relax import ForwardWeights, Relaxation, build_relaxations
from factorspace.schema import SearchConfig, SpaceConfig, SupernetConfig
from factorspace.schema.network import DEFAULT_JOINT_WEIGHTS, EDGE_GROUP, JointWeights
from factorspace.space import Space

CELL_TYPES = ("normal", "reduce")  # DARTS's cell types (the darts family's)


class SearchCell(nn.Module):
    def __init__(
        self,
        space: Space,
        c_pp: int,
        c_p: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
        partial_channels: int = 1,
        joint_weights: JointWeights = DEFAULT_JOINT_WEIGHTS,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = (
            FactorizedReduce(c_pp, c, affine=False)
            if reduction_prev
            else ReLUConvBN(c_pp, c, 1, 1, 0, affine=False)
        )
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(
            build_partial_edge(
                space, c, 2 if reduction and src < 2 else 1, partial_channels, joint_weights
            )
            for src, _ in space.edge_list()
        )
        self.nodes = space.nodes

    def forward(
        self,
        s0: torch.Tensor,
        s1: torch.Tensor,
        weights: dict[str, ForwardWeights],
        edge_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.nodes):
            node = add_all(
                [self._edge(offset + j, h, weights, edge_weights) for j, h in enumerate(states)]
            )
            offset += len(states)
            states.append(node)
        return cat_channels(states[2:])

    def _edge(self, k: int, h: torch.Tensor, weights, edge_weights) -> torch.Tensor:
        chosen = {f: w.chosen[k] for f, w in weights.items() if w.chosen is not None}
        out = self.edges[k](h, {f: w.values[k] for f, w in weights.items()}, chosen)
        return out if edge_weights is None else edge_weights[k] * out


class Supernet(SupernetBase):
    """DARTS's search network: ``forward(images) -> logits``; the architecture API is
    :class:`~factorspace.compile.base.SupernetBase`'s, plus PC-DARTS's edge weights."""

    def __init__(
        self,
        space: Space,
        config: SupernetConfig,
        relaxations: dict[str, Relaxation] | None = None,
    ) -> None:
        super().__init__(space, config, relaxations)
        c = config.channels
        c_stem = config.stem_multiplier * c
        if config.stem == "imagenet":
            self.stem0, self.stem1 = imagenet_stem(config.in_channels, c_stem)
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(config.in_channels, c_stem, 3, padding=1, bias=False),
                BatchNorm2d(c_stem),
            )
        c_pp, c_p, c_curr = c_stem, c_stem, c
        reduction_prev = config.stem == "imagenet"  # its c_{k-2} is at twice the resolution
        self.cells = nn.ModuleList()
        for i in range(config.cells):
            reduction = i in config.reductions
            if reduction:
                c_curr *= 2
            self.cells.append(
                SearchCell(
                    space,
                    c_pp,
                    c_p,
                    c_curr,
                    reduction,
                    reduction_prev,
                    config.partial_channels,
                    config.joint_weights,
                )
            )
            reduction_prev = reduction
            c_pp, c_p = c_p, space.nodes * c_curr
        self.classifier = nn.Linear(c_p, config.classes)
        if config.fused_activation:
            self.set_mixing(partial(fused_mix, hashed=config.rrelu_noise == "hashed"))
        self.init_arch()
        if config.edge_normalization:
            if EDGE_GROUP in space.searched_factors:
                raise FactorspaceError(
                    f"factor {EDGE_GROUP!r}: the name is taken by supernet.edge_normalization's "
                    "weights; rename the factor"
                )
            for cell_type in self.cell_types:  # PC-DARTS's betas: 1e-3 * randn, one per edge
                self.arch[cell_type][EDGE_GROUP] = nn.Parameter(
                    1e-3 * torch.randn(space.edges_per_cell)
                )

    @property
    def arch_groups(self) -> list[str]:
        """The architecture groups: the searched factors, then ``edge`` if edges are normalised."""
        edge = [EDGE_GROUP] if self.config.edge_normalization else []
        return [*self.space.searched_factors, *edge]

    def edge_weights(self) -> dict[str, torch.Tensor] | None:
        """Cell type -> each edge's weight, softmax over its node's inputs (PC-DARTS's
        normalised betas; shape: edges); ``None`` without edge normalisation."""
        if not self.config.edge_normalization:
            return None
        sizes = [i + 2 for i in range(self.space.nodes)]  # node i's inputs, in edge order
        return {
            t: torch.cat([F.softmax(b, dim=-1) for b in self.arch[t][EDGE_GROUP].split(sizes)])
            for t in self.cell_types
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights, edge_weights = self.forward_weights(), self.edge_weights()
        if self.config.stem == "imagenet":
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        for cell in self.cells:
            t = "reduce" if cell.reduction else "normal"
            s0, s1 = s1, cell(s0, s1, weights[t], None if edge_weights is None else edge_weights[t])
        out = F.adaptive_avg_pool2d(s1, 1).flatten(1)
        return self.classifier(out)


def imagenet_stem(in_channels: int, c: int) -> tuple[nn.Sequential, nn.Sequential]:
    """PC-DARTS's ImageNet search stem: ``stem0`` (two stride-2 convs, to ``c`` channels) gives
    the first cell's ``c_{k-2}``, ``stem1`` (a third) its ``c_{k-1}``, 8x smaller than the input."""
    stem0 = nn.Sequential(
        nn.Conv2d(in_channels, c // 2, 3, stride=2, padding=1, bias=False),
        BatchNorm2d(c // 2),
        nn.ReLU(),
        nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False),
        BatchNorm2d(c),
    )
    stem1 = nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False),
        BatchNorm2d(c),
    )
    return stem0, stem1


def compile_supernet(
    space: SpaceConfig | Space,
    config: SupernetConfig,
    device: torch.device | str = "cpu",
    search: SearchConfig | None = None,
) -> Supernet:
    """Build the supernet of ``space`` at ``config``'s sizes on ``device``.

    ``search`` gives each group its relaxation (``search.relaxation``, ``relaxation_overrides``);
    ``None``: DARTS's softmax for all.

    Raises:
        FactorspaceError: when ``search.relaxation_overrides`` names no group of the space.
    """
    if isinstance(space, SpaceConfig):
        space = Space(space)
    relaxations = None
    if search is not None:
        relaxations = build_relaxations(
            space.searched_factors, search.relaxation, search.relaxation_overrides
        )
    net = build_supernet(space, config, relaxations)
    if search is not None:  # the regularizers (factorspace.regularize), DARTS-'s skip modules
        from factorspace.regularize import install_regularization

        install_regularization(net, search)
    return net.to(device)


def build_supernet(
    space: Space, config, relaxations: dict[str, Relaxation] | None = None
) -> SupernetBase:
    """The search supernet of ``space``'s cell family (:mod:`factorspace.cells`) at ``config``'s
    sizes, on the CPU; ``relaxations``: group -> relaxation (``None``: DARTS's softmax)."""
    if config.kind != space.family.name:
        raise FactorspaceError(
            f"{config.kind!r}, but space.cell.kind is {space.family.name!r}: the network must be "
            "the cell's family",
            field="supernet.kind",
        )
    return space.family.build_supernet(space, config, relaxations)
