"""A re-training: the network's sizes (DARTS's ``model.NetworkCIFAR`` / ``NetworkImageNet``), how it
trains, and on which images; :class:`TrainRecipe` is a ``recipes/train_*.yaml`` file.

Defaults are DARTS's (``cnn/train.py``, ``cnn/train_imagenet.py``, as its published commands run
them: auxiliary tower and Cutout on). Network sizes depend on the dataset: CIFAR-10 36 channels,
20 cells, drop path 0.2; ImageNet 48 channels, 14 cells, no drop path; an auxiliary tower weighted
0.4 on both. A recipe states the paper's values where they differ (A-DARTS, CIFAR-10: batch 128,
lr 0.03, drop path 0.4; ImageNet: auxiliary weight 0.2, warm-up, label smoothing).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from factorspace.errors import FieldError
from factorspace.schema.data import DataConfig
from factorspace.schema.limits import (
    TENSORS_PER_TRAIN_EDGE,
    LimitsConfig,
    check_evaluation_batch,
    check_memory,
    train_sizes,
)
from factorspace.schema.search import Precision, Seed, sgd_lr_field, weight_decay_field
from factorspace.schema.space import RunName, Strict, did_you_mean

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
    channels: StrictInt = Field(
        ge=2, description="initial channels C (DARTS: CIFAR 36, ImageNet 48)"
    )
    cells: StrictInt = Field(ge=1, description="stacked cells (DARTS: CIFAR 20, ImageNet 14)")
    classes: StrictInt = Field(ge=2, description="CIFAR-10: 10, ImageNet: 1000")
    auxiliary: StrictBool = Field(True, description="auxiliary tower after the 2/3-depth cell")
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


class TrainConfig(Strict):
    """SGD with momentum, a per-epoch learning rate (linear warm-up, then cosine), and checkpoints."""

    epochs: StrictInt = Field(600, ge=1, description="DARTS and the paper (CIFAR-10): 600")
    batch_size: StrictInt = Field(
        96, ge=1, description="DARTS: 96; the paper: CIFAR-10 128, ImageNet 512"
    )
    eval_batch_size: StrictInt | None = Field(
        None,
        ge=1,
        description="images per batch of the test pass at each epoch's end and of "
        "`factorspace eval` (eval mode, no gradients: the same figures at any size, to "
        "rounding); null: batch_size. Global: split over a torchrun's processes",
    )
    lr: float = sgd_lr_field(0.025, "peak learning rate (DARTS: 0.025)")
    lr_min: float = Field(0.0, ge=0, description="where the cosine ends (DARTS: 0), at most lr")
    momentum: float = Field(0.9, ge=0, lt=1, description="in [0, 1)")
    weight_decay: float = weight_decay_field(3e-4, "on every weight, as DARTS")
    grad_clip: float | None = Field(5.0, gt=0, description="gradient-norm clip; null: off")
    warmup_epochs: StrictInt = Field(
        0, ge=0, description="epochs whose lr rises linearly to `lr` ((epoch + 1) / warmup_epochs)"
    )
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="DARTS ImageNet: 0.1")
    cutout: StrictInt = Field(16, ge=0, description="side of the Cutout square in pixels; 0: off")
    seed: Seed = Field(0, description="fixes initial weights, batches, augmentation and drop path")
    precision: Precision = "fp32"
    checkpoint_every_steps: StrictInt | None = Field(
        None, ge=1, description="also checkpoint mid-epoch (a checkpoint ends every epoch)"
    )
    max_steps: StrictInt | None = Field(
        None,
        ge=1,
        description="stop after this many optimizer steps in all (a smoke test, a study cell): "
        "the run then evaluates, checkpoints and ends as after its last epoch. The schedules "
        "(learning rate, drop path) still span `epochs`, not rescaled: for the cosine to end "
        "at the limit, set `epochs` to about max_steps / steps per epoch; null: no limit",
    )
    sync_batchnorm: StrictBool = Field(
        False,
        description="under torchrun: BatchNorm statistics over the global batch (SyncBatchNorm) "
        "rather than each process's share; no effect in one process",
    )

    @property
    def eval_batch(self) -> int:
        """The evaluation's global batch: ``eval_batch_size``, else ``batch_size``."""
        return self.eval_batch_size or self.batch_size

    @model_validator(mode="before")
    @classmethod
    def _amp_renamed(cls, data: object) -> object:
        if isinstance(data, dict) and "amp" in data:
            raise FieldError(
                ("amp",),
                "replaced by train.precision (fp32, bf16 or fp16); `amp: true` was "
                "`precision: bf16`",
            )
        return data

    @model_validator(mode="after")
    def _schedule(self) -> TrainConfig:
        if self.warmup_epochs >= self.epochs:
            raise FieldError(
                ("warmup_epochs",),
                f"{self.warmup_epochs} leaves no epoch for the cosine; epochs is {self.epochs}",
            )
        if self.lr_min > self.lr:
            raise FieldError(("lr_min",), f"{self.lr_min} is above lr {self.lr}")
        return self


# The fields that scale a re-training's memory estimate, and DARTS's values (cnn/train.py,
# cnn/train_imagenet.py), against which the field that drives an estimate is found.
TRAIN_SIZE_FIELDS = {
    "channels": ("network", "channels"),
    "cells": ("network", "cells"),
    "image_size": ("data", "image_size"),
    "batch_size": ("train", "batch_size"),
    "classes": ("network", "classes"),
}
USUAL_SIZES = {
    "cifar10": {"channels": 36, "cells": 20, "image_size": 32, "batch_size": 96, "classes": 10},
    "imagenet": {
        "channels": 48,
        "cells": 14,
        "image_size": 224,
        "batch_size": 128,
        "classes": 1000,
    },
}


# DARTS's auxiliary towers (retrain/network.py) read the map after the second reduction cell:
# the image halved `halvings` times (CIFAR: the two reductions; ImageNet: also the stem's three),
# pooled by a `kernel` x `kernel` window at `stride` to 2x2, then a 2x2 convolution to 1x1.
_AUXILIARY_POOL = {"cifar10": (2, 5, 3), "imagenet": (5, 5, 2)}  # halvings, kernel, stride


def auxiliary_image_sizes(dataset: str) -> range:
    """The image sizes whose map the auxiliary tower pools to 2x2 (CIFAR-10 29..40, ImageNet
    193..256): the map side, ``ceil(size / 2**halvings)``, in ``kernel + stride`` ..
    ``kernel + 2 * stride - 1``."""
    halvings, kernel, stride = _AUXILIARY_POOL[dataset]
    low, high = kernel + stride, kernel + 2 * stride - 1
    return range(2**halvings * (low - 1) + 1, 2**halvings * high + 1)


class TrainRecipe(Strict):
    """Everything a re-training needs but the genotype (``recipes/train_cifar.yaml``)."""

    name: RunName | None = Field(
        None, description="a label for runs and reports (no `/`, printable, at most 100 characters)"
    )
    imports: list[str] = Field(
        default_factory=list, description="modules to import first (they register ops/activations)"
    )
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)

    @model_validator(mode="after")
    def _fits_in_memory(self) -> TrainRecipe:
        net, batch, side = self.network, self.train.batch_size, self.data.image_size
        imagenet = net.dataset == "imagenet"
        sizes = train_sizes(net.channels, net.cells, side, batch, net.classes, imagenet)
        usual = USUAL_SIZES[net.dataset]
        reference = {name: (loc, usual[name]) for name, loc in TRAIN_SIZE_FIELDS.items()}
        limit = self.limits.memory
        check_memory(sizes, TENSORS_PER_TRAIN_EDGE, limit, reference, "the re-training")
        check_evaluation_batch(
            replace(sizes, batch_size=self.train.eval_batch),
            TENSORS_PER_TRAIN_EDGE,
            limit,
            ("train", "eval_batch_size"),
        )
        return self

    @model_validator(mode="after")
    def _auxiliary_fits_the_images(self) -> TrainRecipe:
        net, side = self.network, self.data.image_size
        sizes = auxiliary_image_sizes(net.dataset)
        if net.auxiliary and side not in sizes:
            usual = USUAL_SIZES[net.dataset]["image_size"]
            raise FieldError(
                ("network", "auxiliary"),
                f"DARTS's auxiliary tower takes {net.dataset} images of {sizes[0]} to "
                f"{sizes[-1]} pixels; data.image_size is {side}: set network.auxiliary=false "
                f"(or data.image_size={usual})",
            )
        return self

    @model_validator(mode="after")
    def _whole_training_split(self) -> TrainRecipe:
        # A re-training has no validation portion: refuse the search's split, never ignore it.
        # data.subset_per_class keeps that fraction of each class's training images.
        if self.data.val_subset_per_class is not None:
            raise FieldError(
                ("data", "val_subset_per_class"),
                "a re-training has no validation portion; data.subset_per_class keeps a "
                "fraction of each class's training images",
            )
        return self
