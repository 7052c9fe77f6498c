"""The search supernet: DARTS's ``model_search.Network`` over any factor space.

Conventions kept exactly (Liu et al. 2019): a 3x3 conv + BN stem with ``stem_multiplier * C``
channels; reductions at 1/3 and 2/3 of the depth doubling the channels; a cell's inputs are
preprocessed by FactorizedReduce (after a reduction) or ReLU-1x1conv-BN, non-affine; edges from
the two inputs of a reduction cell have stride 2; a cell outputs the concat of its intermediate
nodes; global average pooling and a linear classifier. Architecture parameters (1e-3 * randn,
as DARTS) are kept apart from the weights, one tensor per factor per cell type.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from factorspace.compile.candidates import Space
from factorspace.compile.edge import build_edge
from factorspace.ops import FactorizedReduce, ReLUConvBN
from factorspace.schema import SpaceConfig, SupernetConfig

CELL_TYPES = ("normal", "reduce")


class SearchCell(nn.Module):
    def __init__(
        self, space: Space, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool
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
            build_edge(space, c, 2 if reduction and src < 2 else 1) for src, _ in space.edge_list()
        )
        self.nodes = space.nodes

    def forward(
        self, s0: torch.Tensor, s1: torch.Tensor, weights: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.nodes):
            node = sum(
                self.edges[offset + j](h, {f: w[offset + j] for f, w in weights.items()})
                for j, h in enumerate(states)
            )
            offset += len(states)
            states.append(node)
        return torch.cat(states[2:], dim=1)


class Supernet(nn.Module):
    """``forward(images) -> logits``; ``arch_parameters()`` groups the architecture by factor."""

    def __init__(self, space: Space, config: SupernetConfig) -> None:
        super().__init__()
        self.space, self.config = space, config
        c = config.channels
        c_stem = config.stem_multiplier * c
        self.stem = nn.Sequential(
            nn.Conv2d(config.in_channels, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem)
        )
        c_pp, c_p, c_curr = c_stem, c_stem, c
        reduction_prev = False
        self.cells = nn.ModuleList()
        for i in range(config.cells):
            reduction = i in config.reductions
            if reduction:
                c_curr *= 2
            self.cells.append(SearchCell(space, c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, space.nodes * c_curr
        self.classifier = nn.Linear(c_p, config.classes)
        self.arch = nn.ModuleDict(
            {
                cell_type: nn.ParameterDict(
                    {
                        f: nn.Parameter(
                            1e-3 * torch.randn(space.edges_per_cell, space.arch_width(f))
                        )
                        for f in space.searched_factors
                    }
                )
                for cell_type in CELL_TYPES
            }
        )

    def arch_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Factor name -> its parameters ([normal, reduce]); the search gives each an optimizer."""
        return {f: [self.arch[t][f] for t in CELL_TYPES] for f in self.space.searched_factors}

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter that is not architecture (the paper's omega)."""
        arch = {id(p) for p in self.arch.parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def arch_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        """Cell type -> factor -> softmax over choices, per edge (shape: edges x choices)."""
        return {t: {f: F.softmax(a, dim=-1) for f, a in self.arch[t].items()} for t in CELL_TYPES}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.arch_weights()
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, weights["reduce" if cell.reduction else "normal"])
        out = F.adaptive_avg_pool2d(s1, 1).flatten(1)
        return self.classifier(out)


def compile_supernet(
    space: SpaceConfig | Space, config: SupernetConfig, device: torch.device | str = "cpu"
) -> Supernet:
    """Build the supernet of ``space`` at ``config``'s sizes on ``device``."""
    if isinstance(space, SpaceConfig):
        space = Space(space)
    return Supernet(space, config).to(device)
