"""Tiny supernets for the regularizer and selection tests: the paper's space with two nodes,
4 channels, 2 cells (normal, reduce), 8x8 inputs."""

from __future__ import annotations

import pytest
import torch

from factorspace.compile import compile_supernet
from factorspace.schema import SearchConfig, SupernetConfig
from tests.conftest import paper_space

TINY = SupernetConfig(channels=4, cells=2, reduction_cells=[1], classes=10)


def tiny_net(mode: str = "factorized", **search):
    """The paper's space (two nodes) compiled with ``search`` (a SearchConfig mapping)."""
    torch.manual_seed(0)
    return compile_supernet(
        paper_space(mode, nodes=2), TINY, "cpu", SearchConfig.model_validate(search)
    )


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    return torch.randn(4, 3, 8, 8), torch.tensor([3, 7, 1, 0])
