"""The loaders of a search and of a re-training, and the call that resumes them at an epoch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Sampler

from factorspace.data.datasets import in_memory, open_split
from factorspace.data.sampler import EpochSampler
from factorspace.data.splits import search_indices, training_indices
from factorspace.data.transforms import Images
from factorspace.errors import FactorspaceError
from factorspace.schema.data import DataConfig


@dataclass
class SearchData:
    """The two loaders of a search: ``train`` trains the weights, ``val`` the architecture."""

    train: DataLoader
    val: DataLoader
    num_classes: int
    train_indices: list[int]  # into the training split; save them with a checkpoint
    val_indices: list[int]
    classes: list[str] = field(default_factory=list)  # label order
    source: str = ""

    def set_epoch(self, epoch: int, *, batches_done: int = 0) -> None:
        set_epoch(self, epoch, batches_done=batches_done)

    def describe(self, eval_batch: int | None = None) -> str:
        return (
            f"{self.source}: {self.num_classes} classes, {len(self.train_indices):,} train / "
            f"{len(self.val_indices):,} val images, batch {self.train.batch_size}"
            f"{_evaluation(eval_batch)}"
        )


@dataclass
class EvalData:
    """The loaders of a re-training: the full training split and the test split (in order)."""

    train: DataLoader
    test: DataLoader
    num_classes: int
    classes: list[str] = field(default_factory=list)  # label order
    source: str = ""

    def set_epoch(self, epoch: int, *, batches_done: int = 0) -> None:
        set_epoch(self, epoch, batches_done=batches_done)

    def describe(self, eval_batch: int | None = None) -> str:
        return (
            f"{self.source}: {self.num_classes} classes, {len(self.train.dataset):,} train / "
            f"{len(self.test.dataset):,} test images, batch {self.train.batch_size}"
            f"{_evaluation(eval_batch)}"
        )


def _evaluation(eval_batch: int | None) -> str:
    """The header's note of an ``eval_batch_size`` that is set (``rebatched``)."""
    return "" if eval_batch is None else f" (evaluation: {eval_batch})"


def search_loaders(
    config: DataConfig,
    batch_size: int,
    *,
    seed: int,
    device: torch.device | str = "cpu",
    batch_field: str = "search.batch_size",
) -> SearchData:
    """Split the training images into a weight-training and an architecture-validation portion.

    Args:
        config: which images, how to subset, split and augment them (``augment`` the training
            portion, with ``val_augment`` the validation portion too).
        batch_size: images per batch of both loaders (the last batch may be smaller).
        seed: fixes the split, the subsets and, with the epoch, every batch and its augmentation.
        device: where the batches go; CUDA turns on pinned memory.
        batch_field: the config field named when ``batch_size`` is too large.

    Returns:
        A :class:`SearchData`. Both loaders shuffle; call ``data.set_epoch(epoch)`` on resuming.

    Raises:
        FactorspaceError: the data cannot be found or read, a portion is empty, or it is smaller
            than a batch.

    Example:
        >>> data = search_loaders(DataConfig(dataset="bundled", workers=0), 64, seed=0)
        >>> images, labels = next(iter(data.train))
    """
    split = open_split(config, "train")
    train_idx, val_idx = search_indices(split, config, seed)
    for name, portion in (("training", train_idx), ("validation", val_idx)):
        if batch_size > len(portion):
            raise FactorspaceError(
                f"{batch_size} is more than the {name} portion's {len(portion)} images",
                field=batch_field,
            )
    split = in_memory(split, train_idx + val_idx, config.image_size)
    train = _loader(split, train_idx, config, batch_size, seed, "train", device, config.augment)
    # DARTS's train_search.py gives both halves the training transform. Each loader draws its
    # crops and flips from its own stream ("train", "val"), so val_augment moves no training draw.
    val_augment = config.augment and config.val_augment
    val = _loader(split, val_idx, config, batch_size, seed, "val", device, val_augment)
    return SearchData(
        train, val, len(split.classes), train_idx, val_idx, split.classes, split.source
    )


def eval_loaders(
    config: DataConfig,
    batch_size: int,
    *,
    seed: int,
    device: torch.device | str = "cpu",
    cutout: int = 0,
    batch_field: str = "batch_size",
) -> EvalData:
    """The training split (augmented per ``config``, plus Cutout of ``cutout`` pixels if > 0,
    one hole as in DARTS; all of it, or ``data.subset_per_class`` of each class) and the test
    split (not augmented, not shuffled).

    Raises:
        FactorspaceError: as :func:`search_loaders`; also when the test split is missing or its
            classes differ from the training split's.
    """
    if cutout < 0:
        raise ValueError(f"cutout must be >= 0, got {cutout}")
    train_split, test_split = open_split(config, "train"), open_split(config, "test")
    if test_split.classes != train_split.classes:
        raise FactorspaceError(
            f"{test_split.source} has classes {test_split.classes}, "
            f"but the training split has {train_split.classes}",
            field="data.root",
        )
    kept = training_indices(train_split, config, seed)
    if batch_size > len(kept):
        raise FactorspaceError(
            f"{batch_size} is more than the training split's {len(kept)} images",
            field=batch_field,
        )
    size = config.image_size
    train_split = in_memory(train_split, kept, size)
    test_split = in_memory(test_split, range(len(test_split.labels)), size)
    all_test = list(range(len(test_split.labels)))
    train = _loader(
        train_split, kept, config, batch_size, seed, "train", device, config.augment, cutout
    )
    test = _loader(
        test_split, all_test, config, batch_size, seed, "test", device, False, shuffle=False
    )
    return EvalData(train, test, len(train_split.classes), train_split.classes, train_split.source)


def set_epoch(target: SearchData | EvalData | DataLoader, epoch: int, *, batches_done: int = 0):
    """Make the next pass over the loaders that of ``epoch``, skipping its first ``batches_done``.

    A pass advances the epoch by itself, so an uninterrupted run needs no call; a resumed one calls
    this once with the epoch (and, mid-epoch, the batches) it resumes at.
    """
    loaders = [target] if isinstance(target, DataLoader) else _loaders(target)
    for loader in loaders:
        loader.sampler.set_epoch(epoch, skip=batches_done * loader.batch_size)


def rebatched(loader: DataLoader, batch_size: int) -> DataLoader:
    """``loader`` itself where it already makes batches of ``batch_size``; otherwise a loader
    whose next pass reads ``loader``'s next pass (the same images, order and augmentation,
    advancing its sampler's epoch as a pass does) in batches of ``batch_size``, with its
    workers and pinning.

    A search's evaluation uses it: each image's augmentation comes from its key, not from its
    batch, so any batch size gives the same images; larger batches make fewer, larger calls.
    """
    if batch_size == loader.batch_size:
        return loader
    return DataLoader(
        loader.dataset,
        batch_sampler=_Chunks(loader.sampler, batch_size),
        collate_fn=loader.collate_fn,
        num_workers=loader.num_workers,
        pin_memory=loader.pin_memory,
        generator=loader.generator,
    )


class _Chunks(Sampler[list]):
    """A pass of ``sampler`` cut into lists of ``size`` items (the last one shorter)."""

    def __init__(self, sampler: Sampler, size: int) -> None:
        self.sampler, self.size = sampler, size

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.size)

    def __iter__(self) -> Iterator[list]:
        # a generator: the sampler's pass starts at the first batch, not at iter(), which a
        # DataLoader with workers calls twice (and a pass advances the sampler's epoch)
        items = list(self.sampler)
        for start in range(0, len(items), self.size):
            yield items[start : start + self.size]


def _loaders(target: SearchData | EvalData) -> list[DataLoader]:
    return (
        [target.train, target.val]
        if isinstance(target, SearchData)
        else [target.train, target.test]
    )


def _loader(
    split, indices, config, batch_size, seed, stream, device, augment, cutout=0, *, shuffle=True
):
    sampler = EpochSampler(len(indices), seed, stream, shuffle=shuffle)
    return DataLoader(
        Images(split, indices, config, augment, cutout),
        batch_size=batch_size,
        sampler=sampler,
        drop_last=False,
        collate_fn=_batched,
        num_workers=config.workers,
        persistent_workers=config.workers > 0,
        pin_memory=torch.device(device).type == "cuda",
        generator=sampler.generator,
    )


def _batched(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    return batch  # Images.__getitems__ returns whole batches
