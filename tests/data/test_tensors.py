"""``data.dataset: tensors``: a torch.save file of images and labels, read by the normal loaders."""

from __future__ import annotations

import pytest
import torch

from factorspace.data import search_loaders
from factorspace.data.datasets import open_split
from factorspace.errors import FactorspaceError
from factorspace.schema.data import DataConfig


def config(root, **fields) -> DataConfig:
    base = dict(dataset="tensors", root=root, image_size=8, workers=0, augment=False)
    return DataConfig(**(base | fields))


def saved(tmp_path, contents, name="data.pt"):
    path = tmp_path / name
    torch.save(contents, path)
    return path


def test_uint8_images_and_labels_come_back_through_the_search_loaders(tmp_path):
    images = torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8)
    labels = torch.arange(40) % 4
    path = saved(tmp_path, {"images": images, "labels": labels})
    data = search_loaders(config(path, mean=(0, 0, 0), std=(1, 1, 1)), 5, seed=0)
    assert data.num_classes == 4 and data.classes == ["0", "1", "2", "3"]
    x, y = next(iter(data.val))
    rows = torch.tensor(data.val_indices)
    # each batch image is one of the validation images, as x / 255, with its own label
    matches = (x[:, None] - images[rows][None].float() / 255).abs().flatten(2).amax(2) < 1e-6
    assert matches.sum(1).tolist() == [1] * len(x)
    assert torch.equal(y, labels[rows][matches.float().argmax(1)])


def test_float_images_are_read_as_they_are_and_classes_may_be_named(tmp_path):
    images = torch.rand(6, 3, 8, 8)
    path = saved(
        tmp_path, {"images": images, "labels": torch.tensor([0, 1] * 3), "classes": ["a", "b", "c"]}
    )
    split = open_split(config(path), "train")
    assert split.classes == ["a", "b", "c"]
    assert torch.allclose(split.load(torch.arange(6), 8) / 255, images, atol=1e-6)


def error(path_or_config) -> str:
    cfg = path_or_config if isinstance(path_or_config, DataConfig) else config(path_or_config)
    with pytest.raises(FactorspaceError) as info:
        open_split(cfg, "train")
    assert info.value.field == "data.root"
    return info.value.message


def test_errors_name_the_file_and_what_is_wrong(tmp_path):
    good = {
        "images": torch.zeros(4, 3, 8, 8, dtype=torch.uint8),
        "labels": torch.zeros(4, dtype=torch.long),
    }
    assert "not set" in error(config(None))
    assert error(tmp_path / "missing.pt") == f"{tmp_path / 'missing.pt'} does not exist"
    assert error(tmp_path) == f"{tmp_path} is not a file"
    (tmp_path / "junk.pt").write_text("not a torch file")
    assert error(tmp_path / "junk.pt").startswith(
        f"cannot read {tmp_path / 'junk.pt'} with torch.load"
    )
    path = saved(tmp_path, [1, 2])
    assert error(path) == f"{path} holds a list, not a dict of images and labels"
    path = saved(tmp_path, {"images": good["images"]})
    assert error(path) == f"{path} has no labels (keys: images)"
    path = saved(tmp_path, good | {"images": torch.zeros(4, 1, 8, 8, dtype=torch.uint8)})
    assert error(path) == f"{path} images must be a (N, 3, H, W) tensor, got [4, 1, 8, 8]"
    path = saved(tmp_path, good | {"labels": torch.zeros(3, dtype=torch.long)})
    assert error(path) == f"{path} labels must be (4,) integers, got [3]"
    path = saved(tmp_path, good | {"labels": torch.tensor([0, 1, 2, 3]), "classes": ["a", "b"]})
    assert error(path) == f"{path} label 3 but only 2 classes"
    path = saved(tmp_path, good | {"images": torch.full((4, 3, 8, 8), 2.0)})
    assert error(path) == f"{path} float images must be finite and in [0, 1]"
    path = saved(tmp_path, good | {"images": torch.rand(4, 3, 16, 16)})
    assert "float images are 16x16, data.image_size is 8" in error(path)


def test_a_missing_test_split_is_named(tmp_path):
    path = saved(
        tmp_path,
        {
            "images": torch.zeros(4, 3, 8, 8, dtype=torch.uint8),
            "labels": torch.zeros(4, dtype=torch.long),
        },
    )
    with pytest.raises(FactorspaceError, match="has no test_images or test_labels"):
        open_split(config(path), "test")
