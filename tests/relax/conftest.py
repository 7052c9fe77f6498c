"""Tiny supernets for the relaxation tests: 4 channels, 2 cells (normal, reduce), 8x8 inputs."""

from __future__ import annotations

import pytest
import torch

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.schema import SearchConfig, SupernetConfig
from tests.conftest import paper_space

TINY = SupernetConfig(
    channels=4, cells=2, reduction_cells=[1], classes=10, joint_weights="shared"
)  # gumbel on separate joint weights: tests/compile/test_joint.py


def tiny_net(relaxation: dict | None = None, overrides: dict | None = None, mode="factorized"):
    """The paper's space (two nodes) under ``search.relaxation`` = ``relaxation``."""
    search = SearchConfig.model_validate(
        {"relaxation": relaxation or {}, "relaxation_overrides": overrides or {}}
    )
    torch.manual_seed(0)
    return compile_supernet(paper_space(mode, nodes=2), TINY, "cpu", search)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    return torch.randn(2, 3, 8, 8), torch.tensor([3, 7])


def call_counts(net: fs.Supernet) -> tuple[dict, list]:
    """Per edge module (cell, edge, kind, key), how often it ran; the caller removes the hooks."""
    counts: dict[tuple, int] = {}
    handles = []
    for c, cell in enumerate(net.cells):
        for k, edge in enumerate(cell.edges):
            for kind in ("ops", "transforms"):
                for key, module in getattr(edge, kind).items():

                    def hook(*_, where=(c, k, kind, key)):
                        counts[where] = counts.get(where, 0) + 1

                    # the first leaf: the edge may run an operator's layers itself (a weight
                    # folded into its trailing BatchNorm), never the Sequential's forward
                    first = next(m for m in module.modules() if not list(m.children()))
                    handles.append(first.register_forward_hook(hook))
    return counts, handles
