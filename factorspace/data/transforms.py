"""DARTS's augmentation (RandomCrop with padding 4, horizontal flip, Cutout) and normalisation,
applied a batch at a time, every draw read from the image's key."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F
from torch.utils.data import Dataset

from factorspace.data.datasets import Split
from factorspace.schema.data import DataConfig

PAD = 4  # DARTS: RandomCrop(32, padding=4)


class Images(Dataset):
    """``indices`` of a split, fetched a batch at a time: float, normalised and augmented."""

    def __init__(
        self, split: Split, indices: list[int], config: DataConfig, augment: bool, cutout: int
    ) -> None:
        self.split, self.indices = split, torch.tensor(indices, dtype=torch.long)
        self.targets = split.labels[self.indices]
        self.size, self.augment, self.cutout = config.image_size, augment, cutout
        self.mean = torch.tensor(config.mean).view(1, 3, 1, 1)
        self.std = torch.tensor(config.std).view(1, 3, 1, 1)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[Tensor, Tensor]:
        """``dataset[i]``: image i as is (normalised); ``dataset[i, key]``: as augmented by key."""
        position, key = item if isinstance(item, tuple) else (item, None)
        images, labels = self._fetch([position], None if key is None else [key])
        return images[0], labels[0]

    def __getitems__(self, items: list[tuple[int, int]]) -> tuple[Tensor, Tensor]:
        """A whole batch from the sampler's ``(position, key)`` pairs."""
        return self._fetch([p for p, _ in items], [k for _, k in items])

    def _fetch(self, positions: list[int], keys: list[int] | None) -> tuple[Tensor, Tensor]:
        positions = torch.tensor(positions, dtype=torch.long)
        images = self.split.load(self.indices[positions], self.size).float().div_(255)
        if keys is not None:
            # Independent draws, read as mixed-radix digits of each image's key.
            crop_y, crop_x, flip, cut_y, cut_x = _digits(
                torch.tensor(keys, dtype=torch.long),
                2 * PAD + 1,
                2 * PAD + 1,
                2,
                *images.shape[-2:],
            )
            if self.augment:
                images = _crop_flip(images, crop_y, crop_x, flip.bool())
        images = (images - self.mean) / self.std
        if keys is not None and self.cutout:
            images = _cutout(images, cut_y, cut_x, self.cutout)
        return images, self.targets[positions]


def _digits(keys: Tensor, *radices: int) -> list[Tensor]:
    out = []
    for radix in radices:
        out.append(keys % radix)
        keys = keys // radix
    return out


def _crop_flip(images: Tensor, y: Tensor, x: Tensor, flip: Tensor) -> Tensor:
    """RandomCrop(size, padding=PAD) with zero padding, then RandomHorizontalFlip, per image."""
    b, c, h, w = images.shape
    padded = F.pad(images, (PAD, PAD, PAD, PAD))
    rows = y[:, None] + torch.arange(h)
    cols = x[:, None] + torch.arange(w)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    return padded[
        torch.arange(b)[:, None, None, None],
        torch.arange(c)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


def _cutout(images: Tensor, y: Tensor, x: Tensor, length: int) -> Tensor:
    """DARTS's Cutout: zero a length x length square centred at (y, x), clipped to the image."""
    h, w = images.shape[-2:]
    in_y = (torch.arange(h) >= (y - length // 2)[:, None]) & (
        torch.arange(h) < (y + length // 2)[:, None]
    )
    in_x = (torch.arange(w) >= (x - length // 2)[:, None]) & (
        torch.arange(w) < (x + length // 2)[:, None]
    )
    return images * ~(in_y[:, :, None] & in_x[:, None, :])[:, None]
