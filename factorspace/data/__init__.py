"""Images for search and re-training: DARTS's split and augmentation, in a resumable seeded order.

A search reads the training split only: it is shuffled with the seed and cut into a portion that
trains the weights (augmented) and a portion that validates the architecture (not augmented). A
re-training reads the full training split (augmented, optional Cutout) and the test split.

Images are uint8 tensors, decoded once into memory when they fit (the bundled set, CIFAR-10, a small
ImageFolder) and otherwise read lazily. Each loader's sampler draws the order of an epoch, and one
random key per image from which its crop, flip and cutout are read, from ``(seed, epoch)`` alone:
workers, their count and the global RNG play no part, so a run resumed at an epoch boundary after
``set_epoch(data, epoch)`` sees exactly the batches of an uninterrupted run.
"""

from factorspace.data.datasets import Split
from factorspace.data.loaders import (
    EvalData,
    SearchData,
    eval_loaders,
    rebatched,
    search_loaders,
    set_epoch,
)
from factorspace.data.sampler import EpochSampler
from factorspace.data.transforms import Images

__all__ = [
    "EpochSampler",
    "EvalData",
    "Images",
    "SearchData",
    "Split",
    "eval_loaders",
    "rebatched",
    "search_loaders",
    "set_epoch",
]
