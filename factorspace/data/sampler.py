"""A resumable seeded order: each epoch's order and per-image keys depend on (seed, epoch) alone."""

from __future__ import annotations

import hashlib

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(position, key)``: a seeded order of the positions, and a random key for each that
    fixes its augmentation. Both depend only on ``(seed, stream, epoch)``."""

    def __init__(self, size: int, seed: int, stream: str, *, shuffle: bool = True) -> None:
        self.size, self.seed, self.stream, self.shuffle = size, seed, stream, shuffle
        self.generator = torch.Generator()  # the DataLoader's: seeds its workers per epoch
        self.set_epoch(0)

    def set_epoch(self, epoch: int, *, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip
        self.generator.manual_seed(stable_seed(self.seed, self.stream, epoch, "workers"))

    def __len__(self) -> int:
        return max(self.size - self.skip, 0)

    def __iter__(self):
        g = torch.Generator().manual_seed(stable_seed(self.seed, self.stream, self.epoch))
        order = torch.randperm(self.size, generator=g) if self.shuffle else torch.arange(self.size)
        keys = torch.randint(0, 2**62, (self.size,), generator=g)
        skip = self.skip
        self.set_epoch(self.epoch + 1)
        return zip(order[skip:].tolist(), keys[skip:].tolist(), strict=True)


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from ``parts``, the same in every process and Python version."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1
