"""``data.subset_per_class`` for a re-training: a seeded fraction of each class's training images.

:func:`factorspace.data.eval_loaders` reads the whole training split; a study's small cells (and a
smoke test) train on a part of it. The kept images are drawn per class from the training seed
alone, so a resumed run trains on the same ones. Loader settings are eval_loaders's own.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader

from factorspace.data import EpochSampler, EvalData, Images
from factorspace.data.sampler import stable_seed
from factorspace.errors import FactorspaceError
from factorspace.schema.data import DataConfig


def kept_per_class(labels: torch.Tensor, fraction: float, seed: int) -> list[int]:
    """Sorted positions of ``floor(fraction * n_c)`` seeded images of each class c."""
    g = torch.Generator().manual_seed(stable_seed(seed, "retrain-subset"))
    kept = []
    for c in labels.unique().tolist():
        idx = torch.nonzero(labels == c).flatten()
        n = math.floor(fraction * len(idx) + 1e-9)
        kept += idx[torch.randperm(len(idx), generator=g)[:n]].tolist()
    return sorted(kept)


def subset_training(data: EvalData, config: DataConfig, seed: int, batch_field: str) -> EvalData:
    """``data`` with its training loader reduced to ``config.subset_per_class`` of each class."""
    if config.subset_per_class is None:
        return data
    old: DataLoader = data.train
    images: Images = old.dataset
    kept = [
        images.indices[i].item()
        for i in kept_per_class(images.targets, config.subset_per_class, seed)
    ]
    if old.batch_size > len(kept):
        raise FactorspaceError(
            f"{old.batch_size} is more than the {len(kept)} training images kept by "
            f"data.subset_per_class {config.subset_per_class}",
            field=batch_field,
        )
    sampler = EpochSampler(len(kept), seed, "train")
    train = DataLoader(
        Images(images.split, kept, config, images.augment, images.cutout),
        batch_size=old.batch_size,
        sampler=sampler,
        drop_last=False,
        collate_fn=old.collate_fn,
        num_workers=config.workers,
        persistent_workers=config.workers > 0,
        pin_memory=old.pin_memory,
        generator=sampler.generator,
    )
    return EvalData(train, data.test, data.num_classes, data.classes, data.source)
