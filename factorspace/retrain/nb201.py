"""The fixed network of an ``nb201`` genotype: NAS-Bench-201's "tiny network" (xautodl's
``TinyNetwork`` with its ``InferCell``), the network the benchmark trained every cell in.

A 3x3 conv + BN stem with C channels; three stages of N copies of the cell at C, 2C and 4C
channels, a residual basic block of stride 2 between stages; BN-ReLU; global average pooling; a
linear classifier. The cell computes every edge of the genotype, ``none`` ones included (a zero
tensor: a node fed only by ``none`` edges is zero, and the operators after it see that zero, as
the benchmark's cell computes it); operators are built affine, as any fixed network's. Its
BatchNorms are torch's own, as the search supernet's (:mod:`factorspace.ops.nb201` says why).
``forward`` returns the logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from factorspace.genotype import Genotype, GenotypeCell, check_buildable
from factorspace.ops.nb201 import ResNetBasicBlock
from factorspace.retrain.network import build_edge

STAGES = 3


class NB201Cell(nn.Module):
    """Node ``t`` is the sum of the genotype's edges into it; the output is the last node."""

    def __init__(self, cell: GenotypeCell, channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(build_edge(e, channels, 1) for e in cell.edges)
        last = max(e.target for e in cell.edges)
        self.incoming = [
            [i for i, e in enumerate(cell.edges) if e.target == node] for node in range(1, last + 1)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = [x]
        for incoming in self.incoming:
            node = None
            for i in incoming:
                h = self.edges[i](states[self.edges[i].source], 0.0)
                node = h if node is None else node + h
            states.append(node)
        return states[-1]


class NB201Network(nn.Module):
    """NAS-Bench-201's network around ``genotype``'s cell (see the module docstring)."""

    def __init__(
        self,
        genotype: Genotype,
        channels: int = 16,
        cells_per_stage: int = 5,
        classes: int = 10,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        c = channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        )
        self.cells = nn.ModuleList()
        c_prev = c
        for stage in range(STAGES):
            c_stage = c * 2**stage
            if stage:
                self.cells.append(ResNetBasicBlock(c_prev, c_stage, 2))
            for _ in range(cells_per_stage):
                self.cells.append(NB201Cell(genotype.normal, c_stage))
            c_prev = c_stage
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU())
        self.classifier = nn.Linear(c_prev, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        for cell in self.cells:
            s = cell(s)
        return self.classifier(F.adaptive_avg_pool2d(self.lastact(s), 1).flatten(1))


def build_nb201_network(
    genotype: Genotype,
    channels: int = 16,
    cells_per_stage: int = 5,
    classes: int = 10,
    in_channels: int = 3,
) -> NB201Network:
    """The benchmark's network of an ``nb201`` genotype (its sizes: 16 channels, 5 cells per
    stage), checked first (:func:`~factorspace.genotype.check.check_buildable`).

    Example:
        >>> net = build_nb201_network(from_nb201_string("|nor_conv_3x3~0|+|..."))
    """
    check_buildable(genotype)
    return NB201Network(genotype, channels, cells_per_stage, classes, in_channels)
