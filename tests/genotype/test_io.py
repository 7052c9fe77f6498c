"""Genotype files: JSON and YAML, written atomically, errors located as FILE:LINE: FIELD."""

from __future__ import annotations

import pytest

import factorspace as fs
from factorspace.genotype import Genotype, from_darts_string, load_genotype, save_genotype
from tests.conftest import ROOT
from tests.genotype.strings import DARTS_V2, PC_DARTS_CIFAR


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_save_and_load_round_trip(tmp_path, suffix):
    data = from_darts_string(PC_DARTS_CIFAR, name="pc", source="paper").model_dump()
    data["normal"]["edges"][0] = {
        "source": 1, "target": 2, "op": "sep_conv", "inputs": {"activation": "selu"},
        "arguments": {"kernel_size": 5},
    }  # fmt: skip
    g = Genotype.model_validate(data)
    path = save_genotype(g, tmp_path / f"genotype{suffix}")
    assert load_genotype(path) == g
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    save_genotype(g.model_copy(update={"name": "again"}), path)  # replaces in place
    assert load_genotype(path).name == "again"


def test_save_refuses_an_unknown_suffix(tmp_path):
    with pytest.raises(fs.FactorspaceError, match=r"use \.json, \.yaml or \.yml"):
        save_genotype(from_darts_string(DARTS_V2), tmp_path / "genotype.txt")


def test_a_recipe_is_not_a_genotype():
    path = ROOT / "recipes" / "darts_cifar.yaml"
    with pytest.raises(fs.RecipeError) as info:
        load_genotype(path)
    assert str(info.value) == (
        f"{path}: not a factorspace genotype (it looks like a recipe): "
        "missing `format: factorspace.genotype`"
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("  - {source: 0, target: 2}", ":6: normal.edges[1].op: required key is missing"),
        ("  - {source: 0, target: 2, opp: skip_connect}", ":6: normal.edges[1].opp: unknown key 'opp' (did you mean 'op'?); allowed: source, target, op, inputs, arguments"),
        ("  - {source: -1, target: 2, op: skip_connect}", ":6: normal.edges[1].source: Input should be greater than or equal to 0 (got -1)"),
    ],
)  # fmt: skip
def test_bad_genotype_file_gets_a_located_message(tmp_path, edit, expected):
    text = (
        "format: factorspace.genotype\nversion: 1\nnormal:\n  edges:\n"
        "  - {source: 1, target: 2, op: skip_connect}\n"
        f"{edit}\n"
        "  concat: [2]\nreduce: {edges: [], concat: []}\n"
    )
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(fs.RecipeError) as info:
        load_genotype(path)
    assert str(info.value) == f"{path}{expected}"


def test_format_and_version_are_checked(tmp_path):
    path = tmp_path / "g.json"
    path.write_text('{"format": "darts", "normal": {}, "reduce": {}}')
    with pytest.raises(fs.RecipeError, match=r"g\.json:1: format: not a factorspace genotype"):
        load_genotype(path)
    path.write_text('{"format": "factorspace.genotype",\n "version": 2}')
    with pytest.raises(fs.RecipeError, match=r":2: version: genotype version 2 is not supported"):
        load_genotype(path)
