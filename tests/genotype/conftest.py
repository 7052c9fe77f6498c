"""Spaces the genotype tests fit genotypes to."""

from __future__ import annotations

import pytest

import factorspace as fs
from factorspace.compile import Space
from factorspace.schema import SpaceConfig
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def darts_space() -> Space:
    return Space(fs.load_recipe(ROOT / "recipes" / "darts_cifar.yaml").space)


@pytest.fixture(scope="module")
def kernel_space() -> Space:
    """An argument factor: sep_conv's kernel size, with an activation."""
    return Space(
        SpaceConfig.model_validate(
            {
                "factors": [
                    {"name": "op", "role": "operator", "choices": ["none", "skip_connect", "sep_conv"]},
                    {"name": "activation", "role": "input", "choices": ["relu", "selu"],
                     "applies_to": {"tags": ["parameterized"]}},
                    {"name": "kernel", "role": "argument", "keyword": "kernel_size",
                     "choices": [3, 5], "applies_to": {"choices": ["sep_conv"]}},
                ],
                "cell": {"nodes": 2, "keep": 2},
            }
        )
    )  # fmt: skip
