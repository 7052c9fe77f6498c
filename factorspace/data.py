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

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

from factorspace.errors import FactorspaceError
from factorspace.schema.data import DataConfig

BUNDLED = "cifar10_mini.npz"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
CACHE_BYTES = 256 * 2**20  # decode an ImageFolder into memory when the images used fit in this
PAD = 4  # DARTS: RandomCrop(32, padding=4)


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

    def describe(self) -> str:
        return (
            f"{self.source}: {self.num_classes} classes, {len(self.train_indices):,} train / "
            f"{len(self.val_indices):,} val images, batch {self.train.batch_size}"
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

    def describe(self) -> str:
        return (
            f"{self.source}: {self.num_classes} classes, {len(self.train.dataset):,} train / "
            f"{len(self.test.dataset):,} test images, batch {self.train.batch_size}"
        )


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
        config: which images, how to subset, split and augment them.
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
    split = _open(config, "train")
    train_idx, val_idx = _search_indices(split, config, seed)
    for name, portion in (("training", train_idx), ("validation", val_idx)):
        if batch_size > len(portion):
            raise FactorspaceError(
                f"{batch_field}={batch_size} but the {name} portion has {len(portion)} images"
            )
    split = _in_memory(split, train_idx + val_idx, config.image_size)
    train = _loader(split, train_idx, config, batch_size, seed, "train", device, config.augment)
    val = _loader(split, val_idx, config, batch_size, seed, "val", device, False)
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
    """The full training split (augmented per ``config``, plus Cutout of ``cutout`` pixels if > 0,
    one hole as in DARTS) and the test split (not augmented, not shuffled).

    Raises:
        FactorspaceError: as :func:`search_loaders`; also when the test split is missing or its
            classes differ from the training split's.
    """
    if cutout < 0:
        raise ValueError(f"cutout must be >= 0, got {cutout}")
    train_split, test_split = _open(config, "train"), _open(config, "test")
    if test_split.classes != train_split.classes:
        raise FactorspaceError(
            f"data.root: {test_split.source} has classes {test_split.classes}, "
            f"but the training split has {train_split.classes}"
        )
    if batch_size > len(train_split.labels):
        raise FactorspaceError(
            f"{batch_field}={batch_size} but the training split has {len(train_split.labels)} images"
        )
    size = config.image_size
    train_split = _in_memory(train_split, range(len(train_split.labels)), size)
    test_split = _in_memory(test_split, range(len(test_split.labels)), size)
    all_train, all_test = list(range(len(train_split.labels))), list(range(len(test_split.labels)))
    train = _loader(
        train_split, all_train, config, batch_size, seed, "train", device, config.augment, cutout
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


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(position, key)``: a seeded order of the positions, and a random key for each that
    fixes its augmentation. Both depend only on ``(seed, stream, epoch)``."""

    def __init__(self, size: int, seed: int, stream: str, *, shuffle: bool = True) -> None:
        self.size, self.seed, self.stream, self.shuffle = size, seed, stream, shuffle
        self.generator = torch.Generator()  # the DataLoader's: seeds its workers per epoch
        self.set_epoch(0)

    def set_epoch(self, epoch: int, *, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip
        self.generator.manual_seed(_seed(self.seed, self.stream, epoch, "workers"))

    def __len__(self) -> int:
        return max(self.size - self.skip, 0)

    def __iter__(self):
        g = torch.Generator().manual_seed(_seed(self.seed, self.stream, self.epoch))
        order = torch.randperm(self.size, generator=g) if self.shuffle else torch.arange(self.size)
        keys = torch.randint(0, 2**62, (self.size,), generator=g)
        skip = self.skip
        self.set_epoch(self.epoch + 1)
        return zip(order[skip:].tolist(), keys[skip:].tolist(), strict=True)


@dataclass(frozen=True)
class Split:
    """One split of a dataset: labels, class names and the images (in memory or as files)."""

    labels: Tensor  # int64 (N,)
    classes: list[str]
    source: str  # for messages and describe()
    images: Tensor | None = None  # uint8 (M, 3, S, S): image i is images[rows[i]]
    rows: Tensor | None = None  # None: the identity
    files: list[Path] | None = None

    def load(self, indices: Tensor, size: int) -> Tensor:
        """uint8 (B, 3, size, size) images."""
        if self.images is not None:
            return self.images[indices if self.rows is None else self.rows[indices]]
        return torch.stack([_read(self.files[i], size) for i in indices.tolist()])


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


def _seed(*parts: object) -> int:
    """A 63-bit seed from ``parts``, the same in every process and Python version."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


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


def _count(fraction: float, n: int) -> int:
    return math.floor(fraction * n + 1e-9)


def _search_indices(split: Split, config: DataConfig, seed: int) -> tuple[list[int], list[int]]:
    """Per-class subsets, then DARTS's shuffled train/val cut (or per-class val subsets)."""
    g = torch.Generator().manual_seed(_seed(seed, "split"))
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
        _nonempty(train, "training", f"data.{field}={config.subset_per_class}", n, split.source)
        _nonempty(
            val,
            "validation",
            f"data.val_subset_per_class={config.val_subset_per_class}",
            n,
            split.source,
        )
        return sorted(train), sorted(val)
    if config.subset_per_class is not None:
        kept = torch.cat([idx[: _count(config.subset_per_class, len(idx))] for idx in by_class])
        _nonempty(kept, "kept", f"data.subset_per_class={config.subset_per_class}", n, split.source)
    else:
        kept = torch.arange(n)
    kept = kept[torch.randperm(len(kept), generator=g)]
    cut = _count(config.train_portion, len(kept))
    train, val = sorted(kept[:cut].tolist()), sorted(kept[cut:].tolist())
    _nonempty(
        train, "training", f"data.train_portion={config.train_portion}", len(kept), split.source
    )
    _nonempty(
        val, "validation", f"data.train_portion={config.train_portion}", len(kept), split.source
    )
    return train, val


def _nonempty(indices, portion: str, setting: str, n: int, source: str) -> None:
    if len(indices) == 0:
        raise FactorspaceError(
            f"{setting} leaves the {portion} portion empty ({n} images in {source})"
        )


def _open(config: DataConfig, split: str) -> Split:
    if config.dataset == "bundled":
        images, labels, classes = _bundled(split)
        images = _fit(images, config.image_size)
        return Split(labels, classes, "bundled mini CIFAR-10 (JPEG copy)", images=images)
    root = _root(config)
    if config.dataset == "cifar10":
        return _cifar10(root, split, config.image_size)
    return _image_folder(root, split)


def _root(config: DataConfig) -> Path:
    root = config.root
    if root is None:
        raise FactorspaceError(
            f"data.root: not set; data.dataset={config.dataset} needs a directory"
        )
    if not root.exists():
        raise FactorspaceError(f"data.root: {root} does not exist")
    if not root.is_dir():
        raise FactorspaceError(f"data.root: {root} is not a directory")
    return root


@lru_cache(maxsize=2)
def _bundled(split: str) -> tuple[Tensor, Tensor, list[str]]:
    """The bundled set's ``split``, decoded once (the cached tensors are never written to)."""
    with resources.as_file(resources.files("factorspace") / "datasets" / BUNDLED) as path:
        arrays = np.load(path, allow_pickle=False)
        jpeg, offsets = torch.from_numpy(arrays[f"{split}_jpeg"]), arrays[f"{split}_offsets"]
        labels = torch.from_numpy(arrays[f"{split}_labels"].astype(np.int64))
        classes = arrays["classes"].tolist()
    images = torch.stack(
        _decode([jpeg[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)])
    )
    return images, labels, classes


def _cifar10(root: Path, split: str, size: int) -> Split:
    from torchvision.datasets import CIFAR10

    try:
        data = CIFAR10(str(root), train=split == "train", download=True)
    except Exception as error:  # no network, a partial download, a corrupt batch file
        raise FactorspaceError(
            f"data.root: no CIFAR-10 at {root / 'cifar-10-batches-py'} and the download failed "
            f"({type(error).__name__}); put the python-version batches there, or use "
            "--set data.dataset=imagefolder --set data.root=PATH (train/ and test/ ImageFolders) "
            "or --set data.dataset=bundled"
        ) from None
    images = _fit(torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous(), size)
    labels = torch.tensor(data.targets, dtype=torch.long)
    return Split(labels, list(data.classes), f"CIFAR-10 {split} at {root}", images=images)


def _image_folder(root: Path, split: str) -> Split:
    folder = root / split
    if not folder.is_dir():
        raise FactorspaceError(
            f"data.root: {root} has no {split}/ folder (expected {split}/<class>/*.jpg)"
        )
    classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        found = sorted(
            p
            for p in (folder / name).rglob("*")
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        )
        if not found:
            raise FactorspaceError(f"data.root: {folder / name} has no images")
        files += found
        labels += [label] * len(found)
    if not files:
        raise FactorspaceError(
            f"data.root: {folder} has no images (expected {folder}/<class>/*.jpg)"
        )
    return Split(torch.tensor(labels), classes, str(folder), files=files)


def _in_memory(split: Split, used, size: int) -> Split:
    """Decode the images ``used`` into memory if they fit in CACHE_BYTES (files only)."""
    used = sorted(used)
    if split.images is not None or len(used) * 3 * size * size > CACHE_BYTES:
        return split
    rows = torch.full((len(split.labels),), -1, dtype=torch.long)
    rows[used] = torch.arange(len(used))
    images = torch.stack([_read(split.files[i], size) for i in used])
    return Split(split.labels, split.classes, split.source, images=images, rows=rows)


def _read(path: Path, size: int) -> Tensor:
    try:
        (image,) = _decode([torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)])
    except (OSError, RuntimeError) as error:
        raise FactorspaceError(f"data.root: cannot decode {path}: {error}") from None
    return _fit(image, size)


def _decode(files: list[Tensor]) -> list[Tensor]:
    """uint8 (3, H, W) RGB images from encoded files (uint8 tensors): torchvision's decoder, about
    4x faster than PIL on small JPEGs, where this torchvision still has it (deprecated in 0.29)."""
    try:
        from torchvision.io import ImageReadMode, decode_image
    except ImportError:
        return [_decode_pil(data) for data in files]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [decode_image(data, mode=ImageReadMode.RGB) for data in files]


def _decode_pil(data: Tensor) -> Tensor:
    with Image.open(io.BytesIO(data.numpy().tobytes())) as image:
        return torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)


def _fit(images: Tensor, size: int) -> Tensor:
    """Resize the shorter side to ``size`` (bilinear, antialiased) and centre-crop the longer one.

    ``images`` is uint8 (3, H, W) or (N, 3, H, W); images already size x size pass as they are.
    """
    height, width = images.shape[-2:]
    if (height, width) == (size, size):
        return images
    scale = size / min(height, width)
    new = (max(size, round(height * scale)), max(size, round(width * scale)))
    top, left = (new[0] - size) // 2, (new[1] - size) // 2
    out = []
    for chunk in (images if images.dim() == 4 else images[None]).split(1024):
        chunk = F.interpolate(chunk.float(), size=new, mode="bilinear", antialias=True)
        out.append(chunk[..., top : top + size, left : left + size].round().clamp(0, 255).byte())
    return torch.cat(out) if images.dim() == 4 else out[0][0]
