"""DARTS's search split: per-class subsets, then the training split cut into a weight-training and
an architecture-validation portion."""

from __future__ import annotations

import math

import torch

from factorspace.data.datasets import Split
from factorspace.data.sampler import stable_seed
from factorspace.errors import FactorspaceError
from factorspace.schema.data import DataConfig


def _count(fraction: float, n: int) -> int:
    return math.floor(fraction * n + 1e-9)


def search_indices(split: Split, config: DataConfig, seed: int) -> tuple[list[int], list[int]]:
    """Per-class subsets, then DARTS's shuffled train/val cut (or per-class val subsets)."""
    g = torch.Generator().manual_seed(stable_seed(seed, "split"))
    by_class = [
        idx[torch.randperm(len(idx), generator=g)]
        for idx in (torch.nonzero(split.labels == c).flatten() for c in range(len(split.classes)))
    ]
    n = len(split.labels)
    if config.val_subset_per_class is not None:
        train_frac = config.subset_per_class or 1 - config.val_subset_per_class
        train = [i for idx in by_class for i in idx[: _count(train_frac, len(idx))].tolist()]
        val = [
            i
            for idx in by_class
            for i in idx[len(idx) - _count(config.val_subset_per_class, len(idx)) :].tolist()
        ]
        field = "subset_per_class" if config.subset_per_class else "val_subset_per_class"
        _nonempty(train, "training", f"data.{field}", getattr(config, field), n, split.source)
        _nonempty(
            val,
            "validation",
            "data.val_subset_per_class",
            config.val_subset_per_class,
            n,
            split.source,
        )
        return sorted(train), sorted(val)
    if config.subset_per_class is not None:
        kept = torch.cat([idx[: _count(config.subset_per_class, len(idx))] for idx in by_class])
        _nonempty(kept, "kept", "data.subset_per_class", config.subset_per_class, n, split.source)
    else:
        kept = torch.arange(n)
    kept = kept[torch.randperm(len(kept), generator=g)]
    cut = _count(config.train_portion, len(kept))
    train, val = sorted(kept[:cut].tolist()), sorted(kept[cut:].tolist())
    _nonempty(
        train, "training", "data.train_portion", config.train_portion, len(kept), split.source
    )
    _nonempty(
        val, "validation", "data.train_portion", config.train_portion, len(kept), split.source
    )
    return train, val


def _nonempty(indices, portion: str, field: str, value: float, n: int, source: str) -> None:
    if len(indices) == 0:
        raise FactorspaceError(
            f"{value} leaves the {portion} portion empty ({n} images in {source})", field=field
        )


def training_indices(split: Split, config: DataConfig, seed: int) -> list[int]:
    """A re-training's images: the whole training split, or ``data.subset_per_class`` of each
    class drawn with the seed alone (so that a resumed run trains on the same ones)."""
    if config.subset_per_class is None:
        return list(range(len(split.labels)))
    g = torch.Generator().manual_seed(stable_seed(seed, "retrain-subset"))
    kept = []
    for c in range(len(split.classes)):
        idx = torch.nonzero(split.labels == c).flatten()
        kept += idx[
            torch.randperm(len(idx), generator=g)[: _count(config.subset_per_class, len(idx))]
        ].tolist()
    _nonempty(
        kept,
        "kept",
        "data.subset_per_class",
        config.subset_per_class,
        len(split.labels),
        split.source,
    )
    return sorted(kept)
