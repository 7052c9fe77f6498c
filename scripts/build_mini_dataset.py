"""Build factorspace/datasets/cifar10_mini.npz: a class-balanced slice of CIFAR-10 (JPEG copy).

Selection is deterministic: for each class (alphabetical), the first N files of the split by sorted
file name. The original JPEG bytes are kept as they are (no re-encoding) and packed, per split, into
one byte array with offsets, in a compressed .npz (the JPEG headers repeat and compress away)
written with fixed timestamps, so rebuilding gives the same bytes.

    python scripts/build_mini_dataset.py --source ../shared/datasets/cifar10-jpeg
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np
import torch
from torchvision.io import decode_jpeg

OUT = Path(__file__).resolve().parents[1] / "factorspace" / "datasets" / "cifar10_mini.npz"


def pack(split_dir: Path, per_class: int) -> dict[str, np.ndarray]:
    """The first `per_class` JPEGs of every class folder: bytes, offsets, labels and names."""
    classes = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    blobs, labels, names = [], [], []
    for label, name in enumerate(classes):
        files = sorted((split_dir / name).glob("*.jpg"))[:per_class]
        if len(files) < per_class:
            raise SystemExit(f"{split_dir / name}: {len(files)} images, need {per_class}")
        for path in files:
            data = path.read_bytes()
            image = decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8))
            if tuple(image.shape) != (3, 32, 32):
                raise SystemExit(f"{path}: shape {tuple(image.shape)}, expected (3, 32, 32)")
            blobs.append(data)
            labels.append(label)
            names.append(f"{name}/{path.name}")
    sizes = np.array([len(b) for b in blobs], dtype=np.int64)
    return {
        "classes": np.array(classes),
        "jpeg": np.frombuffer(b"".join(blobs), dtype=np.uint8),
        "offsets": np.concatenate([[0], np.cumsum(sizes)]),
        "labels": np.array(labels, dtype=np.uint8),
        "names": np.array(names),
    }


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed with fixed timestamps, so a rebuild is byte-identical."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue(), compresslevel=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("../shared/datasets/cifar10-jpeg"))
    parser.add_argument("--train-per-class", type=int, default=1500)
    parser.add_argument("--test-per-class", type=int, default=300)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    arrays: dict[str, np.ndarray] = {}
    for split, per_class in (("train", args.train_per_class), ("test", args.test_per_class)):
        packed = pack(args.source / split, per_class)
        arrays["classes"] = packed.pop("classes")
        arrays.update({f"{split}_{key}": value for key, value in packed.items()})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_npz(args.out, arrays)
    counts = {s: len(arrays[f"{s}_labels"]) for s in ("train", "test")}
    print(f"{args.out}: {args.out.stat().st_size:,} bytes, {counts}")


if __name__ == "__main__":
    main()
