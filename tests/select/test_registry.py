"""The selection-rule registry: shipped entries, a user's rule selectable from a recipe (the
worked example of docs/writing-a-search-method.md), and located schema errors."""

from __future__ import annotations

import runpy

import pytest
import torch

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.derive import derive_genotype
from factorspace.errors import RecipeError
from factorspace.schema.selection import SELECTIONS
from factorspace.search.selecting import selected_genotype
from factorspace.select import (
    SELECTION_CLASSES,
    Selection,
    SelectionRun,
    register_selection,
    run_selection,
    unregister_selection,
)
from tests.conftest import ROOT
from tests.search.tiny import TINY

EXAMPLE = ROOT / "docs" / "examples" / "my_selection.py"


def test_the_shipped_rules_are_registered_with_their_members():
    assert {"argmax", "perturbation"} <= set(SELECTION_CLASSES.names())
    assert {"argmax", "perturbation"} <= set(SELECTIONS.names())


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="selection rule 'argmax' is already registered"):
        register_selection("argmax")(Selection)


@pytest.fixture
def example():
    names = set(SELECTION_CLASSES.names())
    module = runpy.run_path(str(EXAMPLE))
    yield module
    unregister_selection("prefer_learnable")
    assert set(SELECTION_CLASSES.names()) == names
    assert "prefer_learnable" not in SELECTIONS.names()


def test_the_docs_example_is_selected_from_a_recipe(example):
    recipe = fs.load_recipe(TINY, ["search.selection={kind: prefer_learnable, margin: 0.5}"])
    net = compile_supernet(recipe.space, recipe.supernet, "cpu", recipe.search)
    with torch.no_grad():  # skip_connect (index 1) leads sep_conv_3x3 (3) on every edge
        for cell in net.arch.values():
            cell["op"].zero_()
            cell["op"][:, 1] = 1.0
            cell["op"][:, 3] = 0.5
    run = SelectionRun(net, 0, recipe.search.weights, None, None, None)
    genotype = selected_genotype(net, run_selection(run, recipe.search))
    plain = derive_genotype(net)
    assert {e.op for e in plain.normal.edges} == {"skip_connect"}
    assert {e.op for e in genotype.normal.edges} == {"sep_conv_3x3"}  # within the margin
    # the same inputs kept: a fixed choice keeps its edge's strength in DARTS's ranking
    assert [(e.source, e.target) for e in genotype.normal.edges] == [
        (e.source, e.target) for e in plain.normal.edges
    ]


def test_an_unknown_kind_is_refused_naming_the_registered_ones():
    with pytest.raises(RecipeError) as e:
        fs.load_recipe(TINY, ["search.selection.kind=perturbaton"])
    assert str(e.value).endswith(
        "search.selection.kind: unknown selection rule 'perturbaton' (did you mean "
        "'perturbation'?); allowed: argmax, perturbation"
    )


def test_an_override_names_a_group_and_its_fields_are_checked():
    with pytest.raises(RecipeError, match="selection_overrides.ops: no architecture group"):
        fs.load_recipe(TINY, ["search.selection_overrides.ops.kind=argmax"])
    with pytest.raises(RecipeError, match=r"selection_overrides\.op\.tune_epochs: Input should"):
        fs.load_recipe(
            TINY,
            [
                "search.selection_overrides.op.kind=perturbation",
                "search.selection_overrides.op.tune_epochs=-1",
            ],
        )


def test_a_skip_cap_over_perturbation_is_refused():
    with pytest.raises(RecipeError, match="search.max_skip_connects: DARTS-PT's perturbation"):
        fs.load_recipe(TINY, ["search.selection.kind=perturbation", "search.max_skip_connects=1"])
