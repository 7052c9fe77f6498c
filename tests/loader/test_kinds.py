"""`factorspace validate` takes every kind of YAML file the project reads: search recipes, train
recipes and studies, told apart by their schema line or their keys."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.loader.kinds import document_kind
from tests.conftest import ROOT

SHIPPED = sorted((ROOT / "recipes").glob("**/*.yaml"))


def validate(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", *map(str, args)])
    return result.exit_code, result.output


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_recipe_and_study_is_valid(path):
    code, output = validate(path)
    kind = "study" if "studies" in path.parts else "train recipe" if "train_" in path.name else ""
    assert code == 0, output
    assert output.startswith(f"{path}: valid {kind or 'search recipe'} (")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (
            "# yaml-language-server: $schema=../factorspace/schemas/train.schema.json\nx: 1\n",
            "train",
        ),
        ("# yaml-language-server: $schema=../schemas/recipe.schema.json\nnetwork: {}\n", "search"),
        ("network: {channels: 8}\n", "train"),
        ("train: {epochs: 1}\n", "train"),
        ("name: s\nseeds: [0]\ntrain: {recipe: t.yaml}\n", "study"),
        ("supernet: {channels: 4}\n", "search"),
        ("name: nothing else\n", "search"),
    ],
)
def test_the_kind_comes_from_the_schema_line_then_the_keys(text, kind, tmp_path):
    import yaml

    assert document_kind(yaml.safe_load(text), text) == kind


def test_a_bad_train_recipe_is_refused_as_a_train_recipe(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("network:\n  channels: 16\n  cels: 8\ntrain: {epochs: 1}\n")
    code, output = validate(path)
    assert code == 2
    assert output.startswith(f"error: {path}:3: network.cels: unknown key 'cels' (did you mean")


def test_a_study_whose_recipe_override_is_bad_is_refused(tmp_path):
    (tmp_path / "study.yaml").write_text(
        f"name: s\nseeds: [0]\ntrain: {{recipe: {ROOT / 'recipes' / 'train_cifar.yaml'}, "
        "set: [network.channels=1]}\nvariants:\n"
        f"  a: {{search: {{recipe: {ROOT / 'recipes' / 'quickstart.yaml'}}}}}\n"
    )
    code, output = validate(tmp_path / "study.yaml")
    assert code == 2
    assert "train_cifar.yaml (--set network.channels): network.channels: " in output
    assert "greater than or equal to 2" in output


def test_the_auxiliary_tower_and_small_images_are_refused_naming_both_fields():
    path = ROOT / "recipes" / "train_cifar.yaml"
    line = path.read_text().splitlines().index("  auxiliary: true") + 1
    code, output = validate(path, "--set", "data.image_size=16")
    assert code == 2
    assert output == (
        f"error: {path}:{line}: network.auxiliary: DARTS's auxiliary tower takes cifar10 images "
        "of 29 to 40 pixels; data.image_size is 16: set network.auxiliary=false (or "
        "data.image_size=32)\n"
    )
