"""Sizes of a re-trained network (DARTS's ``model.NetworkCIFAR`` / ``NetworkImageNet``).

Defaults depend on the dataset and are DARTS's (``cnn/train.py``, ``cnn/train_imagenet.py``):
CIFAR-10 36 channels, 20 cells, drop path 0.2; ImageNet 48 channels, 14 cells, no drop path; an
auxiliary tower weighted 0.4 on both. A recipe states the paper's values where they differ
(A-DARTS, CIFAR-10: drop path 0.4; ImageNet: auxiliary weight 0.2).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from factorspace.errors import FieldError
from factorspace.schema.space import Strict, did_you_mean

Dataset = Literal["cifar10", "imagenet"]

_DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "cifar10": {"channels": 36, "cells": 20, "classes": 10, "drop_path": 0.2},
    "imagenet": {"channels": 48, "cells": 14, "classes": 1000, "drop_path": 0.0},
}


def network_defaults(dataset: str) -> dict[str, Any]:
    """The dataset-dependent defaults of :class:`NetworkConfig` (DARTS's); ``{}`` if unknown."""
    return dict(_DATASET_DEFAULTS.get(dataset, {}))


class NetworkConfig(Strict):
    """A re-trained network's sizes; unset sizes take ``network_defaults(dataset)``."""

    dataset: Dataset = Field("cifar10", description="picks the stem, the heads and the defaults")
    channels: int = Field(ge=2, description="initial channels C (DARTS: CIFAR 36, ImageNet 48)")
    cells: int = Field(ge=1, description="stacked cells (DARTS: CIFAR 20, ImageNet 14)")
    classes: int = Field(ge=2, description="CIFAR-10: 10, ImageNet: 1000")
    auxiliary: bool = Field(True, description="auxiliary tower after the 2/3-depth cell")
    auxiliary_weight: float = Field(0.4, ge=0, description="weight of the auxiliary loss (DARTS)")
    drop_path: float = Field(
        ge=0, lt=1, description="final drop-path probability (DARTS: CIFAR 0.2, ImageNet 0)"
    )

    @model_validator(mode="before")
    @classmethod
    def _dataset_defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        dataset = data.get("dataset", "cifar10")
        if dataset not in _DATASET_DEFAULTS:
            raise FieldError(
                ("dataset",),
                f"unknown dataset {dataset!r}{did_you_mean(dataset, list(_DATASET_DEFAULTS))}; "
                f"allowed: {', '.join(_DATASET_DEFAULTS)}",
            )
        return {**network_defaults(dataset), **data}

    @model_validator(mode="after")
    def _even_imagenet_channels(self) -> NetworkConfig:
        if self.dataset == "imagenet" and self.channels % 2:
            raise FieldError(
                ("channels",), f"must be even on ImageNet (the stem halves it): {self.channels}"
            )
        return self
