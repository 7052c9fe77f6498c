"""The data layer: the bundled set, DARTS's split, seeded resumable batches, and its messages."""

from __future__ import annotations

import itertools
import urllib.error
from pathlib import Path

import pydantic
import pytest
import torch

import factorspace
from factorspace.data import eval_loaders, rebatched, search_loaders, set_epoch
from factorspace.errors import FactorspaceError
from factorspace.schema import DataConfig
from tests.conftest import CIFAR_JPEG

BUNDLED = DataConfig(dataset="bundled", workers=0)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one intra-op thread is fastest, and the machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def bundled(**fields) -> DataConfig:
    return BUNDLED.model_copy(update=fields)


def epoch_batches(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return list(loader)


def same(a, b) -> bool:
    return len(a) == len(b) and all(
        torch.equal(x, u) and torch.equal(y, v) for (x, y), (u, v) in zip(a, b, strict=True)
    )


def as_set(batches) -> torch.Tensor:
    """An epoch's images in a canonical order, to compare epochs whatever their batch order."""
    return torch.unique(torch.cat([x for x, _ in batches]).flatten(1), dim=0)


def small_folder(root: Path, train: int = 5, test: int = 3) -> Path:
    """A tiny ImageFolder of links to the first images of each class of the shared JPEG copy."""
    if not CIFAR_JPEG.is_dir():
        pytest.skip(f"{CIFAR_JPEG} is absent")
    for split, count in (("train", train), ("test", test)):
        for name in CLASSES:
            (root / split / name).mkdir(parents=True)
            for src in sorted((CIFAR_JPEG / split / name).glob("*.jpg"))[:count]:
                (root / split / name / src.name).symlink_to(src)
    return root


def test_bundled_set_is_small_balanced_and_complete():
    folder = Path(factorspace.__file__).parent / "datasets"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 8 * 2**20
    assert (folder / "PROVENANCE.md").is_file()
    data = eval_loaders(BUNDLED, 100, seed=0)
    assert data.num_classes == 10 and data.classes == CLASSES
    assert torch.bincount(data.train.dataset.targets).tolist() == [1500] * 10
    assert torch.bincount(data.test.dataset.targets).tolist() == [300] * 10
    images, labels = next(iter(data.test))
    assert images.shape == (100, 3, 32, 32) and images.dtype == torch.float32
    assert labels.tolist() == [0] * 100  # the test loader keeps file order: airplanes first
    assert "15,000 train / 3,000 test" in data.describe()


@pytest.mark.parametrize("portion", [0.5, 0.8])
def test_split_follows_train_portion_and_is_disjoint(portion):
    data = search_loaders(bundled(train_portion=portion), 64, seed=1)
    train, val = set(data.train_indices), set(data.val_indices)
    assert len(train) == int(portion * 15000) and len(val) == 15000 - len(train)
    assert not train & val and train | val == set(range(15000))
    assert len(data.train.dataset) == len(train) and data.num_classes == 10
    other = search_loaders(bundled(train_portion=portion), 64, seed=2)
    assert other.train_indices != data.train_indices  # the seed shuffles the split


def test_subset_per_class_keeps_that_fraction_of_each_class():
    data = search_loaders(bundled(subset_per_class=0.1, train_portion=0.8), 32, seed=0)
    assert len(data.train_indices) == 1200 and len(data.val_indices) == 300
    kept = torch.cat([data.train.dataset.targets, data.val.dataset.targets])
    assert torch.bincount(kept).tolist() == [150] * 10


def test_val_subset_per_class_gives_disjoint_per_class_subsets():
    data = search_loaders(bundled(subset_per_class=0.1, val_subset_per_class=0.025), 32, seed=0)
    assert torch.bincount(data.train.dataset.targets).tolist() == [150] * 10
    assert torch.bincount(data.val.dataset.targets).tolist() == [37] * 10
    assert not set(data.train_indices) & set(data.val_indices)


def test_subsets_that_overlap_are_refused_by_the_schema():
    with pytest.raises(pydantic.ValidationError, match="val_subset_per_class = 1.2 > 1"):
        DataConfig(subset_per_class=0.6, val_subset_per_class=0.6)


def test_batches_depend_only_on_seed_and_epoch():
    config = bundled(subset_per_class=0.02)
    run = search_loaders(config, 32, seed=3)
    uninterrupted = [(epoch_batches(run.train), epoch_batches(run.val)) for _ in range(3)]

    again = search_loaders(config, 32, seed=3)
    assert same(epoch_batches(again.train), uninterrupted[0][0])
    assert not same(uninterrupted[0][0], uninterrupted[1][0])  # a new order and new crops
    assert not same(uninterrupted[0][1], uninterrupted[1][1])

    torch.manual_seed(123)  # the global RNG plays no part
    resumed = search_loaders(config, 32, seed=3)
    resumed.set_epoch(2)
    assert same(epoch_batches(resumed.train), uninterrupted[2][0])
    assert same(epoch_batches(resumed.val), uninterrupted[2][1])

    mid = search_loaders(config, 32, seed=3)
    set_epoch(mid, 1, batches_done=2)
    assert len(mid.train) == len(run.train) - 2
    assert same(epoch_batches(mid.train), uninterrupted[1][0][2:])
    assert not same(epoch_batches(search_loaders(config, 32, seed=4).train), uninterrupted[0][0])


@pytest.mark.parametrize("size", [5, 16, 10_000])
def test_rebatched_reads_a_pass_of_the_loader_in_batches_of_another_size(size):
    data = search_loaders(bundled(subset_per_class=0.02), 16, seed=3)
    set_epoch(data, 2)
    pass_ = epoch_batches(data.val)
    set_epoch(data, 2)
    got = list(rebatched(data.val, size))
    n = sum(len(y) for _, y in pass_)
    assert [len(y) for _, y in got] == [min(size, n - i) for i in range(0, n, size)]
    for k in (0, 1):  # the same augmented images and labels, in the same order
        assert torch.equal(torch.cat([b[k] for b in got]), torch.cat([b[k] for b in pass_]))
    assert data.val.sampler.epoch == 3  # it advanced the epoch, as a pass does
    assert (rebatched(data.val, size) is data.val) == (size == 16)  # its own size: the loader


def test_the_description_names_an_evaluation_batch_that_is_set():
    data = search_loaders(bundled(subset_per_class=0.02), 16, seed=3)
    assert data.describe().endswith(" val images, batch 16")
    assert data.describe(256).endswith(" val images, batch 16 (evaluation: 256)")


def test_rebatched_loads_with_the_loaders_workers_the_same_batches():
    one = search_loaders(bundled(subset_per_class=0.02), 16, seed=3)
    two = search_loaders(bundled(subset_per_class=0.02, workers=2), 16, seed=3)
    batches = []
    for data in (one, two):
        set_epoch(data, 1)
        loader = rebatched(data.val, 7)
        assert loader.num_workers == data.val.num_workers
        batches.append(list(loader))
    assert same(*batches)


def test_rebatched_reads_each_processs_share_of_a_sharded_loader():
    from factorspace.run.distributed import DistributedContext

    data = search_loaders(bundled(subset_per_class=0.02), 16, seed=3)
    set_epoch(data, 1)
    whole = torch.cat([y for _, y in rebatched(data.val, 7)])
    shares = []
    for rank in (0, 1):
        sharded = DistributedContext(rank, 2, rank, torch.device("cpu")).shard(
            data, batch_field="search.batch_size"
        )
        set_epoch(sharded, 1)
        shares.append(torch.cat([y for _, y in rebatched(sharded.val, 4)]))
    padded = torch.cat([whole, whole[: len(whole) % 2]])  # padded to a multiple of the processes
    assert torch.equal(torch.stack(shares, 1).flatten(), padded)


def test_workers_do_not_change_the_batches():
    config = bundled(subset_per_class=0.01)
    serial = search_loaders(config, 16, seed=0)
    parallel = search_loaders(config.model_copy(update={"workers": 2}), 16, seed=0)
    for _ in range(2):
        assert same(epoch_batches(parallel.train), epoch_batches(serial.train))


def crops_of(image: torch.Tensor) -> list[torch.Tensor]:
    """Every RandomCrop(padding=4) of a normalised image and the mirror of each (DARTS)."""
    mean, std = torch.tensor(BUNDLED.mean).view(3, 1, 1), torch.tensor(BUNDLED.std).view(3, 1, 1)
    padded = (torch.nn.functional.pad(image * std + mean, (4, 4, 4, 4)) - mean) / std
    size = image.shape[-1]
    crops = [
        padded[:, y : y + size, x : x + size] for y, x in itertools.product(range(9), range(9))
    ]
    return crops + [crop.flip(-1) for crop in crops]


def is_augmented_from(image: torch.Tensor, original: torch.Tensor) -> bool:
    return any(torch.allclose(image, view, atol=1e-5) for view in crops_of(original))


def test_augment_false_augments_neither_portion():
    plain = search_loaders(bundled(subset_per_class=0.02, augment=False), 50, seed=0)
    for loader in (plain.train, plain.val):
        assert torch.equal(as_set(epoch_batches(loader)), as_set(epoch_batches(loader)))


def test_validation_portion_is_augmented_as_darts_does_by_default():
    config = bundled(subset_per_class=0.02)
    assert config.val_augment  # DARTS's train_search.py: one transform for both halves
    augmented = search_loaders(config, 50, seed=0)
    plain = search_loaders(config.model_copy(update={"val_augment": False}), 50, seed=0)
    epochs = []
    for _ in range(2):
        batches, originals = epoch_batches(augmented.val), epoch_batches(plain.val)
        assert len(batches) == len(originals)
        for (images, labels), (before, before_labels) in zip(batches, originals, strict=True):
            assert torch.equal(labels, before_labels)  # the same images in the same order
            assert all(is_augmented_from(x, o) for x, o in zip(images, before, strict=True))
        assert not same(batches, originals)
        epochs.append(batches)
    assert not torch.equal(as_set(epochs[0]), as_set(epochs[1]))  # new crops and flips


def test_val_augment_false_gives_the_unaugmented_validation_batches():
    config = bundled(subset_per_class=0.02, val_augment=False)
    data = search_loaders(config, 50, seed=0)
    unaugmented = search_loaders(config.model_copy(update={"augment": False}), 50, seed=0)
    epochs = [epoch_batches(data.val) for _ in range(2)]
    assert torch.equal(as_set(epochs[0]), as_set(epochs[1]))  # the same images, only reordered
    assert not same(epochs[0], epochs[1])
    for batches in epochs:
        assert same(batches, epoch_batches(unaugmented.val))
    images, _ = epochs[0][0]
    data.val.sampler.set_epoch(0)
    position = next(iter(data.val.sampler))[0]
    assert torch.equal(images[0], data.val.dataset[position][0])  # an index alone: as stored


def test_val_augment_moves_no_training_draw():
    config = bundled(subset_per_class=0.02)
    runs = [
        search_loaders(config.model_copy(update={"val_augment": flag}), 32, seed=5)
        for flag in (True, False)
    ]
    for _ in range(2):  # the search's pattern: a validation batch after each training batch
        steps = [list(zip(run.train, run.val, strict=False)) for run in runs]
        for (train, _), (other, _) in zip(*steps, strict=True):
            assert torch.equal(train[0], other[0]) and torch.equal(train[1], other[1])
        assert not all(torch.equal(a[1][0], b[1][0]) for a, b in zip(*steps, strict=True))


def test_an_augmented_image_is_a_padded_crop_or_its_mirror():
    data = search_loaders(bundled(subset_per_class=0.01), 10, seed=0)
    dataset = data.train.dataset
    mean, std = torch.tensor(BUNDLED.mean).view(3, 1, 1), torch.tensor(BUNDLED.std).view(3, 1, 1)
    original, _ = dataset[0]  # an index alone: not augmented
    padded = (torch.nn.functional.pad(original * std + mean, (4, 4, 4, 4)) - mean) / std
    crops = [padded[:, y : y + 32, x : x + 32] for y, x in itertools.product(range(9), range(9))]
    seen = set()
    for key in range(0, 2**62, 2**56):
        image, _ = dataset[0, key]
        matches = [
            (i, flip)
            for i, crop in enumerate(crops)
            for flip, view in ((False, crop), (True, crop.flip(-1)))
            if torch.allclose(image, view, atol=1e-5)
        ]
        assert matches
        seen.update(matches)
    assert len(seen) > 20  # many crops and both flips occur


def test_cutout_blanks_a_square_of_the_training_images():
    data = eval_loaders(bundled(augment=False), 200, seed=0, cutout=16)
    images, _ = next(iter(data.train))
    zeros = (images == 0).all(dim=1).flatten(1).sum(dim=1)
    assert zeros.min() >= 64 and zeros.max() <= 256  # 16x16, clipped at the border
    test_images, _ = next(iter(data.test))
    assert (test_images == 0).all(dim=1).flatten(1).sum(dim=1).max() < 64


def test_image_size_resizes():
    data = search_loaders(bundled(subset_per_class=0.01, image_size=16), 8, seed=0)
    assert next(iter(data.train))[0].shape == (8, 3, 16, 16)


def test_imagefolder_reads_the_shared_jpeg_copy(tmp_path):
    root = small_folder(tmp_path)
    config = DataConfig(dataset="imagefolder", root=root, workers=0)
    data = search_loaders(config, 5, seed=0)
    assert data.num_classes == 10
    assert len(data.train_indices) == 25 and len(data.val_indices) == 25
    assert next(iter(data.train))[0].shape == (5, 3, 32, 32)

    folder = eval_loaders(config, 10, seed=0)
    reference = eval_loaders(BUNDLED, 10, seed=0).test.dataset  # the same files, 300 per class
    assert folder.test.dataset.targets.tolist() == [c for c in range(10) for _ in range(3)]
    for label, k in itertools.product(range(10), range(3)):
        image, target = folder.test.dataset[label * 3 + k]
        expected, expected_target = reference[label * 300 + k]
        assert target == expected_target == label
        assert torch.equal(image, expected)


def error(config: DataConfig, batch_size: int = 5, *, search: bool = True) -> str:
    with pytest.raises(FactorspaceError) as info:
        if search:
            search_loaders(config, batch_size, seed=0)
        else:
            eval_loaders(config, batch_size, seed=0)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_messages_for_a_missing_or_wrong_root(tmp_path):
    folder = DataConfig(dataset="imagefolder", workers=0)
    missing = tmp_path / "nope"
    assert error(folder) == "data.root: not set; data.dataset=imagefolder needs a directory"
    assert error(folder.model_copy(update={"root": missing})) == (
        f"data.root: {missing} does not exist; set data.root to a folder with train/<class>/*.jpg "
        "(and test/), or use the mini CIFAR-10 shipped in the package: --set data.dataset=bundled"
    )
    cifar = DataConfig(dataset="cifar10", root=missing, workers=0)
    assert error(cifar) == (  # torchvision downloads into an existing folder, not a mistyped one
        f"data.root: {missing} does not exist; mkdir -p {missing} and CIFAR-10 is downloaded into "
        "it (torchvision, 170 MB), or set data.root to where CIFAR-10 is, or use the mini CIFAR-10 "
        "shipped in the package: --set data.dataset=bundled (recipes/train_quick.yaml does)"
    )
    (tmp_path / "file").write_text("x")
    assert "is not a directory" in error(folder.model_copy(update={"root": tmp_path / "file"}))
    assert error(folder.model_copy(update={"root": tmp_path})) == (
        f"data.root: {tmp_path} has no train/ folder (expected train/<class>/*.jpg)"
    )


def test_messages_for_folders_without_images(tmp_path):
    config = DataConfig(dataset="imagefolder", root=tmp_path, workers=0)
    (tmp_path / "train").mkdir()
    assert error(config) == (
        f"data.root: {tmp_path / 'train'} has no images (expected {tmp_path / 'train'}/<class>/*.jpg)"
    )
    (tmp_path / "train" / "cat").mkdir()
    assert error(config) == f"data.root: {tmp_path / 'train' / 'cat'} has no images"


def test_messages_for_batches_and_subsets_too_small(tmp_path):
    config = DataConfig(dataset="imagefolder", root=small_folder(tmp_path), workers=0)
    assert (
        error(config, 128) == "search.batch_size: 128 is more than the training portion's 25 images"
    )
    assert error(config.model_copy(update={"train_portion": 0.9}), 10) == (
        "search.batch_size: 10 is more than the validation portion's 5 images"
    )
    assert (
        error(config, 128, search=False)
        == "batch_size: 128 is more than the training split's 50 images"
    )
    assert error(config.model_copy(update={"subset_per_class": 0.1})) == (
        f"data.subset_per_class: 0.1 leaves the kept portion empty (50 images in {tmp_path / 'train'})"
    )
    assert "leaves the validation portion empty" in error(
        config.model_copy(update={"subset_per_class": 0.4, "val_subset_per_class": 0.1})
    )
    for name in CLASSES:
        for path in (tmp_path / "test" / name).iterdir():
            path.unlink()
        (tmp_path / "test" / name).rmdir()
    assert "has no images" in error(config, search=False)


def test_message_for_missing_cifar10_files(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10

    def offline(self):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(CIFAR10, "download", offline)
    message = error(DataConfig(dataset="cifar10", root=tmp_path, workers=0))
    assert message.startswith(
        f"data.root: no CIFAR-10 at {tmp_path / 'cifar-10-batches-py'} and the download failed"
    )
    assert "--set data.dataset=imagefolder --set data.root=PATH" in message
    assert "--set data.dataset=bundled" in message


def test_cifar10_reads_torchvisions_dataset(tmp_path, monkeypatch):
    import numpy as np
    import torchvision.datasets

    class FakeCIFAR10:  # torchvision's attributes, without the 170 MB download
        classes = CLASSES

        def __init__(self, root, train, download):
            count = 40 if train else 20
            self.data = np.random.default_rng(0).integers(0, 256, (count, 32, 32, 3), np.uint8)
            self.targets = [i % 10 for i in range(count)]

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    config = DataConfig(dataset="cifar10", root=tmp_path, workers=0)
    data = search_loaders(config, 4, seed=0)
    assert len(data.train_indices) == 20 and data.classes == CLASSES
    images, labels = next(iter(eval_loaders(config, 4, seed=0).test))
    expected = torch.from_numpy(FakeCIFAR10(tmp_path, False, True).data[:4]).permute(0, 3, 1, 2)
    mean, std = torch.tensor(config.mean).view(3, 1, 1), torch.tensor(config.std).view(3, 1, 1)
    assert torch.allclose(images, (expected / 255 - mean) / std, atol=1e-6)
    assert labels.tolist() == [0, 1, 2, 3]
