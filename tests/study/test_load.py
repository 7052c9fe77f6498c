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
    if study.train is not None:
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


NB201 = """\
name: s
seeds: [0]
evaluate: nb201
variants:
  factorized:
    search: {recipe: RECIPE, set: [&tiny [search.epochs=1], space.mode=factorized]}
  joint:
    search: {recipe: RECIPE, set: [*tiny, space.mode=joint]}
"""
NB201_RECIPE = str(ROOT / "tests" / "search" / "nb201_tiny.yaml")


def test_an_nb201_study_splices_shared_overrides_and_needs_no_train(tmp_path):
    study = load_study(write(tmp_path, NB201.replace("RECIPE", NB201_RECIPE)))
    assert study.train is None and study.compared == "nb201_cifar10"
    assert study.variants["joint"].search.set == ["search.epochs=1", "space.mode=joint"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("evaluate: nb201\n", "evaluate: nb201\ntrain: {recipe: t.yaml}\n",
         r"study.yaml:4: train: means nothing with evaluate: nb201"),
        ("    search: {recipe: RECIPE, set: [*tiny, space.mode=joint]}\n",
         "    search: {recipe: RECIPE, set: [*tiny, space.mode=joint]}\n    set_activation: relu\n",
         r"study.yaml:9: variants.joint.set_activation: means nothing with evaluate: nb201"),
        ("evaluate: nb201", "evaluate: retrain",
         r"study.yaml:1: train: required: the re-training of every variant"),
        ("evaluate: nb201\n", "evaluate: retrain\ntrain: {recipe: t.yaml}\ncell_train_seconds: 9\n",
         r"study.yaml:5: cell_train_seconds: sets K for the best-of-K random cells"),
        ("evaluate: nb201\n", "evaluate: nb201\nmetric: test_error\n",
         r"study.yaml:4: metric: test_error is not measured with evaluate: nb201"),
        ("evaluate: nb201", "evaluate: lookup", r"study.yaml:3: evaluate: .*'retrain' or 'nb201'"),
    ],
)  # fmt: skip
def test_nb201_evaluation_refuses_what_means_nothing(tmp_path, old, new, message):
    text = NB201.replace(old, new).replace("RECIPE", NB201_RECIPE)
    with pytest.raises(RecipeError, match=message):
        load_study(write(tmp_path, text))


def test_an_nb201_study_refuses_a_darts_family_search_at_its_line(tmp_path):
    darts = str(ROOT / "tests" / "search" / "tiny.yaml")
    text = NB201.replace("RECIPE, set: [*tiny, space.mode=joint]", f"{darts}, set: [*tiny]")
    text = text.replace("RECIPE", NB201_RECIPE)
    with pytest.raises(RecipeError) as e:
        load_study(write(tmp_path, text))
    assert str(e.value).startswith(f"{tmp_path / 'study.yaml'}:8: variants.joint.search: ")
    assert "tiny.yaml searches a darts cell (space.cell.kind: nb201 is the benchmark's)" in str(
        e.value
    )
