"""A train recipe's checks that need no genotype: optimizer settings and the memory estimate."""

from __future__ import annotations

from pathlib import Path

import pytest

import factorspace as fs
from factorspace.retrain.recipe import load_train_recipe
from factorspace.schema.limits import (
    DEFAULT_MEMORY,
    TENSORS_PER_TRAIN_EDGE,
    human,
    memory_bytes,
    train_sizes,
)
from factorspace.schema.train import auxiliary_image_sizes

ROOT = Path(__file__).resolve().parents[2]
TRAIN_CIFAR = ROOT / "recipes" / "train_cifar.yaml"
TRAIN_RECIPES = sorted((ROOT / "recipes").glob("train_*.yaml"))


def estimate(recipe) -> int:
    net = recipe.network
    sizes = train_sizes(
        net.channels,
        net.cells,
        recipe.data.image_size,
        recipe.train.batch_size,
        net.classes,
        net.dataset == "imagenet",
    )
    return memory_bytes(sizes, TENSORS_PER_TRAIN_EDGE)


def refusal(path, overrides) -> fs.RecipeError:
    with pytest.raises(fs.RecipeError) as info:
        load_train_recipe(path, overrides)
    return info.value


@pytest.mark.parametrize("path", [*TRAIN_RECIPES, None], ids=lambda p: p.name if p else "default")
def test_shipped_train_recipes_fit_under_the_default_limit(path):
    recipe = load_train_recipe(path)
    assert recipe.limits.memory == DEFAULT_MEMORY
    # gigabytes, as DARTS's re-training takes; the quick one at 16 px, hundreds of megabytes
    least = 2**27 if recipe.name == "train_quick" else 2**30
    assert least < estimate(recipe) < DEFAULT_MEMORY


@pytest.mark.parametrize(
    ("setting", "field", "value"),
    [
        ("train.batch_size", "train.batch_size", 100_000),
        ("network.channels", "network.channels", 4_000),
        ("network.cells", "network.cells", 10**9),
        ("data.image_size", "data.image_size", 8_192),
    ],
)
def test_a_terabyte_retraining_is_refused_naming_the_field_that_drives_it(setting, field, value):
    error = refusal(TRAIN_CIFAR, [f"{setting}={value}"])
    assert (str(error.file), error.field) == (f"{TRAIN_CIFAR} (--set {field})", field)
    assert error.message.startswith("the re-training needs about ")
    assert error.message.endswith(
        f"above limits.memory = 128 GiB; reduce {field} ({value}) or raise the limit with "
        "--set limits.memory=..."
    )
    no_tower = ["network.auxiliary=false"] if setting == "data.image_size" else []  # 29..40 px
    recipe = load_train_recipe(
        TRAIN_CIFAR, [f"{setting}={value}", "limits.memory=1000EiB", *no_tower]
    )
    assert recipe.limits.memory == 1000 * 2**60


def test_the_limit_compares_the_estimate_it_reports():
    need = estimate(load_train_recipe(TRAIN_CIFAR))
    error = refusal(TRAIN_CIFAR, [f"limits.memory={need - 1}"])
    assert error.message.startswith(f"the re-training needs about {human(need)} ")
    assert load_train_recipe(TRAIN_CIFAR, [f"limits.memory={need}"]).limits.memory == need


def test_imagenet_sizes_are_compared_with_darts_imagenet_values():
    """224-pixel images are ImageNet's usual size: the batch drives an oversized estimate."""
    error = refusal(ROOT / "recipes" / "train_imagenet.yaml", ["train.batch_size=4096"])
    assert error.field == "train.batch_size"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("train.lr=1e300", "Input should be less than or equal to 10 (got '1e300')"),
        ("train.lr=-0.1", "Input should be greater than 0 (got -0.1)"),
        ("train.lr=.inf", "Input should be a finite number (got inf)"),
        ("train.momentum=1.5", "Input should be less than 1 (got 1.5)"),
        ("train.weight_decay=-0.1", "Input should be greater than or equal to 0 (got -0.1)"),
        ("train.weight_decay=3", "Input should be less than or equal to 1 (got 3)"),
        ("train.grad_clip=-5", "Input should be greater than 0 (got -5)"),
    ],
)
def test_absurd_train_optimizer_settings_are_refused(setting, message):
    error = refusal(TRAIN_CIFAR, [setting])
    field = setting.partition("=")[0]
    assert (str(error.file), error.field, error.message) == (
        f"{TRAIN_CIFAR} (--set {field})",
        field,
        message,
    )


def test_an_absurd_lr_in_the_file_names_its_line(tmp_path):
    path = tmp_path / "train.yaml"
    text = TRAIN_CIFAR.read_text().replace("  lr: 0.03", "  lr: 3.0e+30")
    path.write_text(text)
    error = refusal(path, [])
    line = text.splitlines().index("  lr: 3.0e+30") + 1
    assert (error.line, error.field) == (line, "train.lr")


@pytest.mark.parametrize(("dataset", "sizes"), [("cifar10", (29, 40)), ("imagenet", (193, 256))])
def test_the_auxiliary_tower_takes_the_image_sizes_its_pooling_reduces_to_2x2(dataset, sizes):
    assert (auxiliary_image_sizes(dataset)[0], auxiliary_image_sizes(dataset)[-1]) == sizes
    usual = {"cifar10": 32, "imagenet": 224}[dataset]
    for side in (sizes[0] - 1, sizes[1] + 1):
        error = refusal(None, [f"network.dataset={dataset}", f"data.image_size={side}"])
        assert error.field == "network.auxiliary"
        assert error.message.endswith(
            f"data.image_size is {side}: set network.auxiliary=false (or data.image_size={usual})"
        )
    for side in sizes:  # the ends fit, as the network builds them (tests/retrain/test_network.py)
        load_train_recipe(None, [f"network.dataset={dataset}", f"data.image_size={side}"])
