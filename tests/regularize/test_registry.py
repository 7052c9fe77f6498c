"""The regularizer registry: shipped entries, a user's regularizer selectable from a recipe (the
worked example of docs/writing-a-search-method.md), and located schema errors."""

from __future__ import annotations

import math
import runpy

import pytest
import torch

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.errors import RecipeError
from factorspace.regularize import (
    REGULARIZER_CLASSES,
    Regularizer,
    register_regularizer,
    unregister_regularizer,
)
from factorspace.schema.regularizer import REGULARIZERS
from tests.conftest import ROOT
from tests.search.tiny import TINY

EXAMPLE = ROOT / "docs" / "examples" / "my_regularizer.py"
SHIPPED = {"beta_decay", "random_smoothing", "auxiliary_skip"}


def test_the_shipped_regularizers_are_registered_with_their_members():
    assert set(REGULARIZER_CLASSES.names()) >= SHIPPED and set(REGULARIZERS.names()) >= SHIPPED


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="regularizer 'beta_decay' is already registered"):
        register_regularizer("beta_decay")(Regularizer)


@pytest.fixture
def example():
    names = set(REGULARIZER_CLASSES.names())
    module = runpy.run_path(str(EXAMPLE))  # registers entropy and its member
    yield module
    unregister_regularizer("entropy")
    assert set(REGULARIZER_CLASSES.names()) == names and "entropy" not in REGULARIZERS.names()


def test_the_docs_example_is_selected_from_a_recipe_and_searches(example, tmp_path):
    recipe = fs.load_recipe(
        TINY,
        [
            "search.regularizers=[{kind: entropy, weight: 0.5}]",
            "search.regularizer_overrides.activation=[]",
            "search.epochs=1",
        ],
    )
    assert recipe.model_dump(mode="json")["search"]["regularizers"] == [
        {"kind": "entropy", "weight": 0.5}
    ]
    net = compile_supernet(recipe.space, recipe.supernet, "cpu", recipe.search)
    assert list(net.regularization.groups) == ["op"]
    net.set_epoch(1, 3)  # half way: 0.25 * mean entropy; uniform logits: ln 4 per edge
    with torch.no_grad():
        for p in net.arch.parameters():
            p.zero_()
    term = float(net.regularization_loss().detach())
    assert term == pytest.approx(0.25 * math.log(4), rel=1e-6)


def test_the_docs_example_refuses_a_bad_field(example):
    with pytest.raises(RecipeError, match=r"search\.regularizers\[0\]\.weight: Input should be"):
        fs.load_recipe(TINY, ["search.regularizers=[{kind: entropy, weight: -1}]"])


def test_an_unknown_kind_is_refused_naming_the_registered_ones():
    with pytest.raises(RecipeError) as e:
        fs.load_recipe(TINY, ["search.regularizers=[{kind: beta_decai}]"])
    assert str(e.value).endswith(
        "search.regularizers[0].kind: unknown regularizer 'beta_decai' (did you mean "
        "'beta_decay'?); allowed: beta_decay, random_smoothing, auxiliary_skip"
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "search.regularizer_overrides.activaton=[]",
            "search.regularizer_overrides.activaton: no architecture group 'activaton' "
            "(did you mean 'activation'?); the space searches: op, activation",
        ),
        (
            "search.regularizer_overrides.op=[{kind: auxiliary_skip}]",
            "search.regularizer_overrides.op[0].kind: 'auxiliary_skip' acts on every edge",
        ),
        (
            "search.regularizers=[{kind: beta_decay}, {kind: beta_decay, coefficient: 1}]",
            "search.regularizers[1].kind: 'beta_decay' is listed twice (also at [0])",
        ),
        (
            "search.regularizers=[{kind: random_smoothing, epsilon_max: 2}]",
            "search.regularizers[0].epsilon_max: Input should be less than or equal to 1",
        ),
    ],
)
def test_bad_settings_are_located(setting, message):
    with pytest.raises(RecipeError) as e:
        fs.load_recipe(TINY, [setting])
    assert message in str(e.value)
