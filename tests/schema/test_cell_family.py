"""Recipe fields of the cell families: ``space.cell.kind`` and ``supernet.kind``, DARTS's by
default, each family's fields its own, mismatches refused with one located message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import factorspace as fs
from factorspace.compile import Space
from tests.conftest import ROOT

NB201 = ROOT / "recipes" / "nb201_darts.yaml"
DARTS = ROOT / "recipes" / "darts_cifar.yaml"


def edited(tmp_path: Path, source: Path, edit) -> Path:
    data = yaml.safe_load(source.read_text())
    edit(data)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def refusal(path: Path, overrides=()) -> str:
    with pytest.raises(fs.RecipeError) as info:
        fs.load_recipe(path, list(overrides))
    return str(info.value)


def line_of(path: Path, text: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.lstrip().startswith(text))


def test_a_recipe_without_kind_is_darts_and_dumps_as_before():
    recipe = fs.load_recipe(DARTS)
    assert recipe.space.cell.kind == recipe.supernet.kind == "darts"
    dumped = recipe.model_dump(mode="json")
    assert "kind" not in dumped["space"]["cell"] and "kind" not in dumped["supernet"]
    assert Space(recipe.space).cell_types == ("normal", "reduce")


def test_an_nb201_recipe_counts_the_benchmarks_cells():
    recipe = fs.load_recipe(NB201)
    space = Space(recipe.space)
    assert space.cell_types == ("normal",) and space.edges_per_cell == 6
    assert space.space_size() == 5**6 == 15_625
    factorized = Space(recipe.space.model_copy(update={"mode": "factorized"}))
    assert factorized.space_size() == 15_625 and factorized.searched_factors == ["op", "kernel"]
    assert recipe.model_dump(mode="json")["supernet"]["kind"] == "nb201"


@pytest.mark.parametrize("source", [DARTS, NB201], ids=["darts", "nb201"])
def test_set_supernet_channels_works_for_both_families(source):
    assert fs.load_recipe(source, ["supernet.channels=8"]).supernet.channels == 8


def test_an_nb201_cell_with_a_darts_supernet_is_refused_at_the_supernet(tmp_path):
    path = edited(tmp_path, NB201, lambda d: d.update(supernet={"channels": 16}))
    assert refusal(path) == (
        f"{path}:{line_of(path, 'supernet:')}: supernet.kind: 'darts', but space.cell.kind is "
        "'nb201': the network must be the cell's family; set supernet.kind: nb201 (with that "
        "family's sizes) or space.cell.kind: darts"
    )


def test_a_darts_cell_with_an_nb201_supernet_is_refused(tmp_path):
    path = edited(tmp_path, DARTS, lambda d: d.update(supernet={"kind": "nb201"}))
    message = refusal(path)
    assert message.startswith(f"{path}:{line_of(path, 'kind: nb201')}: supernet.kind: 'nb201'")
    assert "space.cell.kind is 'darts'" in message


@pytest.mark.parametrize(
    ("edit", "field", "expected"),
    [
        (lambda d: d["space"]["cell"].update(keep=2), "space.cell.keep", "unknown key 'keep'; allowed: kind, nodes"),
        (lambda d: d["supernet"].update(cells=8), "supernet.cells", "unknown key 'cells' (did you mean 'channels'?); allowed: kind, channels, cells_per_stage"),
        (lambda d: d["supernet"].update(stem="imagenet"), "supernet.stem", "unknown key 'stem'"),
        (lambda d: d["space"]["cell"].update(kind="nb210"), "space.cell.kind", "unknown cell family 'nb210' (did you mean 'nb201'?); allowed: darts, nb201"),
        (lambda d: d["supernet"].update(cells_per_stage=0), "supernet.cells_per_stage", "greater than or equal to 1 (got 0)"),
        (lambda d: d["search"].update(max_skip_connects=2), "search.max_skip_connects", "an nb201 cell keeps every edge"),
        (lambda d: d["data"].update(image_size=30), "data.image_size", "30 is not a multiple of 4: the supernet halves the input 2 times (2 stride-2 residual blocks between the stages)"),
    ],
    ids=["keep", "cells", "stem", "kind", "cells-per-stage", "skip-cap", "image-size"],
)  # fmt: skip
def test_fields_that_mean_nothing_for_nb201_are_refused_where_they_are(
    tmp_path, edit, field, expected
):
    path = edited(tmp_path, NB201, edit)
    message = refusal(path)
    assert f": {field}: " in message and expected in message
    assert message.startswith(f"{path}:")


def test_a_darts_recipe_refuses_nb201_fields(tmp_path):
    path = edited(tmp_path, DARTS, lambda d: d["supernet"].update(cells_per_stage=5))
    assert "supernet.cells_per_stage: unknown key 'cells_per_stage'" in refusal(path)


def test_switching_one_kind_with_set_is_refused_at_the_other():
    message = refusal(NB201, ["space.cell.kind=darts"])
    assert message.startswith(f"{NB201}:{line_of(NB201, 'supernet:')}: supernet.kind: 'nb201'")
    message = refusal(NB201, ["supernet.kind=darts"])  # the darts member has no such field
    assert message.startswith(f"{NB201}:{line_of(NB201, 'supernet:')}: supernet.cells_per_stage")


@pytest.mark.parametrize("setting", ["space.cell=5", "supernet=[1]"])
def test_a_section_that_is_no_mapping_is_named_plainly(setting):
    section = setting.partition("=")[0]
    assert refusal(NB201, [setting]) == (
        f"{NB201} (--set {section}): {section}: expected a mapping (`key: value` lines) "
        f"(got {setting.partition('=')[2]})"
    )
