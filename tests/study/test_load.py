"""Study files: valid ones load with paths relative to the file; bad ones get located messages."""

from __future__ import annotations

import textwrap

import pytest

from factorspace.errors import RecipeError
from factorspace.study import load_study
from factorspace.study.schema import PLACEHOLDER
from tests.conftest import ROOT

GOOD = """\
name: s
seeds: [0, 1]
train: {recipe: train.yaml}
variants:
  factorized:
    search: {recipe: search.yaml}
  factorized_relu:
    search_from: factorized
    set_activation: relu
compare: [factorized, factorized_relu]
"""


def write(tmp_path, text: str):
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_study_loads_with_recipes_relative_to_its_file(tmp_path):
    study = load_study(write(tmp_path, GOOD))
    assert study.train.recipe == tmp_path / "train.yaml"
    assert study.variants["factorized"].search.recipe == tmp_path / "search.yaml"
    assert study.variants["factorized_relu"].dependencies() == {"factorized"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("seeds: [0, 1]", "seed: [0, 1]", r"study.yaml:2: seed: .*did you mean 'seeds'"),
        ("seeds: [0, 1]", "seeds: [0, 0]", r"study.yaml:2: seeds: a seed given twice"),
        ("search_from: factorized", "search_from: factorised",
         r"study.yaml:8: variants.factorized_relu.search_from: no variant 'factorised'.*did you mean 'factorized'"),
        ("compare: [factorized, factorized_relu]", "compare: [factorized, relu]",
         r"study.yaml:10: compare\[1\]: no variant 'relu'"),
        ("    search_from: factorized\n", "",
         r"study.yaml:7: variants.factorized_relu.search: give one of `search` and `search_from`"),
        ("train: {recipe: train.yaml}", "train: {recipe: train.yaml, sets: []}",
         r"study.yaml:3: train.sets: .*did you mean 'set'"),
    ],
)  # fmt: skip
def test_bad_study_files_get_located_messages(tmp_path, old, new, message):
    with pytest.raises(RecipeError, match=message):
        load_study(write(tmp_path, GOOD.replace(old, new)))


def test_a_placeholder_must_name_a_variant_that_searches(tmp_path):
    variant = "  config_a:\n    search: {recipe: s.yaml, set: ['x.init_from={search:nope}']}\n"
    text = GOOD.replace("compare:", variant + "compare:")
    with pytest.raises(RecipeError, match=r"variants.config_a.search: no variant 'nope'"):
        load_study(write(tmp_path, text))


def test_not_a_mapping(tmp_path):
    with pytest.raises(RecipeError, match="study.yaml:1: a study is a mapping"):
        load_study(write(tmp_path, "- a\n"))


@pytest.mark.parametrize("path", sorted((ROOT / "recipes" / "studies").glob("*.yaml")),
                         ids=lambda p: p.stem)  # fmt: skip
def test_shipped_studies_and_their_recipes_load(path):
    from factorspace.loader import load_recipe
    from factorspace.retrain.recipe import load_train_recipe

    study = load_study(path)
    load_train_recipe(study.train.recipe, study.train.set)
    for variant in study.variants.values():
        if variant.search is not None:
            overrides = [PLACEHOLDER.sub("runs/x", o) for o in variant.search.set]
            load_recipe(variant.search.recipe, overrides)
        if variant.train is not None:
            load_train_recipe(variant.train.recipe, variant.train.set)


def test_the_command_reports_a_bad_study_file_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from factorspace.cli import app

    path = write(tmp_path, GOOD.replace("seeds: [0, 1]", "seeds: []"))
    result = CliRunner().invoke(app, ["study", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"{path}:2: seeds:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
