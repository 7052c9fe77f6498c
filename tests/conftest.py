"""Shared fixtures: tiny spaces that compile and run in milliseconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from factorspace.schema import SpaceConfig, SupernetConfig
from factorspace.schema.network import NB201SupernetConfig

ROOT = Path(__file__).resolve().parents[1]
# Search recipes; train_*.yaml are re-training recipes with their own schema.
RECIPES = sorted(p for p in (ROOT / "recipes").glob("*.yaml") if not p.name.startswith("train_"))
CIFAR_JPEG = ROOT.parent / "shared" / "datasets" / "cifar10-jpeg"

DARTS_OPS = [
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
]  # fmt: skip
ACTIVATIONS = ["relu", "relu6", "leaky_relu", "prelu", "rrelu", "elu", "celu", "selu", "swish"]


def paper_space(mode: str = "factorized", activations=ACTIVATIONS, nodes: int = 4) -> SpaceConfig:
    return SpaceConfig.model_validate(
        {
            "mode": mode,
            "factors": [
                {"name": "op", "role": "operator", "choices": DARTS_OPS},
                {
                    "name": "activation",
                    "role": "input",
                    "choices": list(activations),
                    "applies_to": {"factor": "op", "tags": ["parameterized"]},
                },
            ],
            "cell": {"nodes": nodes, "keep": 2},
        }
    )


@pytest.fixture
def tiny_supernet() -> SupernetConfig:
    """4 channels, 3 cells (normal, reduce, reduce): a forward/backward in milliseconds."""
    return SupernetConfig(channels=4, cells=3, classes=10)


def tiny_supernet_of(recipe):
    """A tiny supernet of the recipe's family: DARTS's 4 channels and 3 cells (normal, reduce,
    reduce); NAS-Bench-201's 4 channels and 1 cell per stage."""
    if recipe.supernet.kind == "nb201":
        return NB201SupernetConfig(channels=4, cells_per_stage=1, classes=10)
    return SupernetConfig(channels=4, cells=3, classes=10)


@pytest.fixture
def images() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(2, 3, 8, 8)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` need CUDA, and tests marked ``timing`` a quiet machine
    (``FACTORSPACE_TIMING=1``): skipped, with the reason, elsewhere."""
    skips = {}
    if not torch.cuda.is_available():
        skips["gpu"] = pytest.mark.skip(reason="needs a CUDA device (marker gpu)")
    if os.environ.get("FACTORSPACE_TIMING") != "1":
        skips["timing"] = pytest.mark.skip(
            reason="compares measured times: run on a quiet machine with FACTORSPACE_TIMING=1"
        )
    for item in items:
        for marker, skip in skips.items():
            if marker in item.keywords:
                item.add_marker(skip)
