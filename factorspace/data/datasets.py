"""Reading a dataset's split: the bundled set, CIFAR-10, an ImageFolder or a tensors file.

Images are decoded once into memory when they fit (the bundled set, CIFAR-10, a small
ImageFolder) and otherwise read lazily, one batch at a time.
"""

from __future__ import annotations

import io
import shlex
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.nn import functional as F

from factorspace.errors import FactorspaceError
from factorspace.schema.data import DataConfig

BUNDLED = "cifar10_mini.npz"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
CACHE_BYTES = 256 * 2**20  # decode an ImageFolder into memory when the images used fit in this


@dataclass(frozen=True)
class Split:
    """One split of a dataset: labels, class names and the images (in memory or as files)."""

    labels: Tensor  # int64 (N,)
    classes: list[str]
    source: str  # for messages and describe()
    images: Tensor | None = None  # uint8 (M, 3, S, S), or float x 255: image i is images[rows[i]]
    rows: Tensor | None = None  # None: the identity
    files: list[Path] | None = None

    def load(self, indices: Tensor, size: int) -> Tensor:
        """uint8 (B, 3, size, size) images."""
        if self.images is not None:
            return self.images[indices if self.rows is None else self.rows[indices]]
        return torch.stack([read_image(self.files[i], size) for i in indices.tolist()])


def open_split(config: DataConfig, split: str) -> Split:
    if config.dataset == "bundled":
        images, labels, classes = _bundled(split)
        images = fit_size(images, config.image_size)
        return Split(labels, classes, "bundled mini CIFAR-10 (JPEG copy)", images=images)
    if config.dataset == "tensors":
        return _tensors_file(config, split)
    root = _root(config)
    if config.dataset == "cifar10":
        return _cifar10(root, split, config.image_size)
    return _image_folder(root, split)


def _root(config: DataConfig) -> Path:
    root = config.root
    if root is None:
        raise FactorspaceError(
            f"not set; data.dataset={config.dataset} needs a directory", field="data.root"
        )
    if not root.exists():
        how = _GET_DATA[config.dataset].format(root=shlex.quote(str(root)))
        raise FactorspaceError(f"{root} does not exist; {how}", field="data.root")
    if not root.is_dir():
        raise FactorspaceError(f"{root} is not a directory", field="data.root")
    return root


# How to get the data a missing data.root would hold (torchvision downloads CIFAR-10 into an
# existing directory only: a mistyped path never starts a 170 MB download somewhere unexpected).
_GET_DATA = {
    "cifar10": "mkdir -p {root} and CIFAR-10 is downloaded into it (torchvision, 170 MB), or set "
    "data.root to where CIFAR-10 is, or use the mini CIFAR-10 shipped in the package: --set "
    "data.dataset=bundled (recipes/train_quick.yaml does)",
    "imagefolder": "set data.root to a folder with train/<class>/*.jpg (and test/), or use the "
    "mini CIFAR-10 shipped in the package: --set data.dataset=bundled",
}


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
            f"no CIFAR-10 at {root / 'cifar-10-batches-py'} and the download failed "
            f"({type(error).__name__}); put the python-version batches there, or use "
            "--set data.dataset=imagefolder --set data.root=PATH (train/ and test/ ImageFolders) "
            "or --set data.dataset=bundled",
            field="data.root",
        ) from None
    images = fit_size(torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous(), size)
    labels = torch.tensor(data.targets, dtype=torch.long)
    return Split(labels, list(data.classes), f"CIFAR-10 {split} at {root}", images=images)


def _tensors_file(config: DataConfig, split: str) -> Split:
    path = config.root
    if path is None:
        raise FactorspaceError(
            "not set; data.dataset=tensors needs a file written by torch.save", field="data.root"
        )
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise FactorspaceError(f"{path} {what}", field="data.root")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # not a torch file, truncated, pickled objects
        raise FactorspaceError(
            f"cannot read {path} with torch.load ({type(error).__name__}: {error})",
            field="data.root",
        ) from None
    return tensor_split(data, split, str(path), config.image_size)


TENSOR_KEYS = {"train": ("images", "labels"), "test": ("test_images", "test_labels")}


def tensor_split(data: object, split: str, source: str, size: int) -> Split:
    """The ``split`` of a tensors file's contents (``data.dataset: tensors``), checked.

    Float images are in [0, 1] and kept as float, scaled by 255 so that the loaders' ``/ 255``
    gives them back; uint8 images are resized like the other datasets' (:func:`fit_size`).
    """
    keys = TENSOR_KEYS[split]
    if not isinstance(data, dict):
        raise _bad(source, f"holds a {type(data).__name__}, not a dict of {' and '.join(keys)}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise _bad(source, f"has no {' or '.join(missing)} (keys: {', '.join(map(str, data))})")
    images, labels = data[keys[0]], data[keys[1]]
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = list(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise _bad(source, f"{keys[0]} must be a (N, 3, H, W) tensor, got {shape}")
    if (
        not isinstance(labels, Tensor)
        or labels.shape != (len(images),)
        or labels.is_floating_point()
    ):
        shape = list(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise _bad(source, f"{keys[1]} must be ({len(images)},) integers, got {shape}")
    if len(labels) == 0 or labels.min() < 0:
        raise _bad(source, f"{keys[1]} must be non-empty class indices >= 0")
    classes = [str(c) for c in data.get("classes", range(int(labels.max()) + 1))]
    if int(labels.max()) >= len(classes):
        raise _bad(source, f"label {int(labels.max())} but only {len(classes)} classes")
    return Split(labels.long(), classes, source, images=_tensor_images(images, source, size))


def _tensor_images(images: Tensor, source: str, size: int) -> Tensor:
    if images.dtype == torch.uint8:
        return fit_size(images, size)
    if not images.is_floating_point():
        raise _bad(source, f"images must be uint8 or float, got {images.dtype}")
    if not bool(torch.isfinite(images).all()) or images.min() < 0 or images.max() > 1:
        raise _bad(source, "float images must be finite and in [0, 1]")
    if images.shape[-2:] != (size, size):
        raise _bad(
            source,
            f"float images are {images.shape[-2]}x{images.shape[-1]}, data.image_size "
            f"is {size}: save them at that size (only uint8 images are resized)",
        )
    return images.float() * 255


def _bad(source: str, what: str) -> FactorspaceError:
    return FactorspaceError(f"{source} {what}", field="data.root")


def _image_folder(root: Path, split: str) -> Split:
    folder = root / split
    if not folder.is_dir():
        raise FactorspaceError(
            f"{root} has no {split}/ folder (expected {split}/<class>/*.jpg)", field="data.root"
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
            raise FactorspaceError(f"{folder / name} has no images", field="data.root")
        files += found
        labels += [label] * len(found)
    if not files:
        raise FactorspaceError(
            f"{folder} has no images (expected {folder}/<class>/*.jpg)", field="data.root"
        )
    return Split(torch.tensor(labels), classes, str(folder), files=files)


def in_memory(split: Split, used, size: int) -> Split:
    """Decode the images ``used`` into memory if they fit in CACHE_BYTES (files only)."""
    used = sorted(used)
    if split.images is not None or len(used) * 3 * size * size > CACHE_BYTES:
        return split
    rows = torch.full((len(split.labels),), -1, dtype=torch.long)
    rows[used] = torch.arange(len(used))
    images = torch.stack([read_image(split.files[i], size) for i in used])
    return Split(split.labels, split.classes, split.source, images=images, rows=rows)


def read_image(path: Path, size: int) -> Tensor:
    try:
        (image,) = _decode([torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)])
    except (OSError, RuntimeError) as error:
        raise FactorspaceError(f"cannot decode {path}: {error}", field="data.root") from None
    return fit_size(image, size)


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


def fit_size(images: Tensor, size: int) -> Tensor:
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
