"""Which images a search or a re-training reads, and how they are split and augmented."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from factorspace.errors import FieldError
from factorspace.schema.space import Strict

PositiveStd = Annotated[float, Field(gt=0)]


class DataConfig(Strict):
    dataset: Literal["bundled", "cifar10", "imagefolder", "tensors"] = Field(
        "cifar10",
        description="bundled: the mini CIFAR-10 shipped in the package; cifar10: torchvision's "
        "CIFAR-10 under `root`; imagefolder: a directory with train/<class>/*.jpg (and test/); "
        "tensors: a torch.save file at `root` holding `images` (N, 3, H, W; uint8, or float in "
        "[0, 1]) and `labels` (N,), optionally `classes` (names) and `test_images`/`test_labels`",
    )
    root: Path | None = Field(
        None, description="dataset directory (cifar10, imagefolder) or file (tensors)"
    )
    train_portion: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="share of the training split used to train weights (DARTS: 0.5)",
    )
    subset_per_class: float | None = Field(
        None, gt=0, le=1, description="keep this fraction of the training images of each class"
    )
    val_subset_per_class: float | None = Field(
        None,
        gt=0,
        le=1,
        description="if set, validation is this fraction per class (ImageNet search) and training "
        "is `subset_per_class` per class (default: the rest), disjoint; `train_portion` is unused",
    )
    image_size: StrictInt = Field(32, ge=8)
    workers: StrictInt = Field(2, ge=0)
    mean: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
    std: tuple[PositiveStd, PositiveStd, PositiveStd] = Field(
        (0.2470, 0.2435, 0.2616), description="per-channel normalisation divisor (each > 0)"
    )
    augment: StrictBool = Field(
        True, description="DARTS augmentation: random crop (pad 4) and flip"
    )
    val_augment: StrictBool = Field(
        True,
        description="with `augment`, also augment the search's validation portion, as DARTS's "
        "train_search.py does (one training transform for both halves of the split); false: "
        "validation images as they are. Its draws are the validation loader's own: the training "
        "portion's batches are the same either way",
    )

    @model_validator(mode="after")
    def _subsets_fit(self) -> DataConfig:
        if self.val_subset_per_class is not None and self.subset_per_class is not None:
            total = self.subset_per_class + self.val_subset_per_class
            if total > 1 + 1e-9:
                raise FieldError(
                    ("val_subset_per_class",),
                    f"subset_per_class + val_subset_per_class = {total:g} > 1; the train and "
                    "validation subsets of a class are disjoint",
                )
        return self
