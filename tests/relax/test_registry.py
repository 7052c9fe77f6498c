"""The relaxation registry: shipped entries, duplicates refused, a user's relaxation selectable
from a recipe (the worked example of docs/writing-a-search-method.md), schema errors."""

from __future__ import annotations

import runpy

import pytest
import torch
import torch.nn.functional as F

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.derive import derive_genotype
from factorspace.errors import RecipeError
from factorspace.genotype import check_genotype
from factorspace.relax import RELAXATIONS, Relaxation, register_relaxation, unregister_relaxation
from factorspace.schema.relaxation import RELAXATION_CONFIGS
from tests.conftest import ROOT
from tests.search.tiny import TINY

EXAMPLE = ROOT / "docs" / "examples" / "my_relaxation.py"


def test_the_shipped_relaxations_are_registered_with_their_schema_members():
    assert {"softmax", "gumbel", "dirichlet"} <= set(RELAXATIONS.names())
    assert {"softmax", "gumbel", "dirichlet"} <= set(RELAXATION_CONFIGS.names())


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="relaxation 'gumbel' is already registered"):
        register_relaxation("gumbel")(Relaxation)


@pytest.fixture
def example():
    names = set(RELAXATIONS.names())
    module = runpy.run_path(str(EXAMPLE))  # registers annealed_softmax and its member
    yield module
    unregister_relaxation("annealed_softmax")
    assert set(RELAXATIONS.names()) == names
    assert "annealed_softmax" not in RELAXATION_CONFIGS


def test_the_docs_example_is_selected_from_a_recipe_and_searches(example):
    recipe = fs.load_recipe(
        TINY, ["search.relaxation.kind=annealed_softmax", "search.relaxation.end=0.25"]
    )
    assert recipe.search.relaxation == example["AnnealedSoftmaxConfig"](end=0.25)
    assert recipe.model_dump(mode="json")["search"]["relaxation"] == {
        "kind": "annealed_softmax",
        "start": 5.0,
        "end": 0.25,
    }
    net = compile_supernet(recipe.space, recipe.supernet, "cpu", recipe.search)
    net.set_epoch(recipe.search.epochs - 1, recipe.search.epochs)
    op = net.relaxations["op"]
    assert op.temperature == pytest.approx(0.25)
    logits = net.arch["normal"]["op"]
    torch.testing.assert_close(
        net.forward_weights()["normal"]["op"].values, F.softmax(logits / 0.25, dim=-1)
    )
    x, y = torch.randn(2, 3, 8, 8), torch.tensor([0, 1])
    F.cross_entropy(net(x), y).backward()
    assert all(p.grad is not None for p in net.arch.parameters())
    check_genotype(derive_genotype(net), recipe.space)


def test_the_docs_example_refuses_a_bad_field(example):
    with pytest.raises(
        RecipeError, match=r"search\.relaxation\.start: Input should be greater than 0"
    ):
        fs.load_recipe(
            TINY, ["search.relaxation.kind=annealed_softmax", "search.relaxation.start=0"]
        )


def test_an_unknown_kind_is_refused_naming_the_registered_ones():
    with pytest.raises(RecipeError) as e:
        fs.load_recipe(TINY, ["search.relaxation.kind=gumbell"])
    assert str(e.value).endswith(
        "search.relaxation.kind: unknown relaxation 'gumbell' (did you mean 'gumbel'?); "
        "allowed: softmax, gumbel, dirichlet"
    )


def test_an_override_for_an_unknown_factor_is_refused_naming_the_groups():
    with pytest.raises(RecipeError) as e:  # when the recipe loads, at the override's line
        fs.load_recipe(TINY, ["search.relaxation_overrides.activaton.kind=gumbel"])
    assert str(e.value).startswith(
        f"{TINY} (--set search.relaxation_overrides.activaton.kind): "
        "search.relaxation_overrides.activaton: no architecture group 'activaton' "
        "(did you mean 'activation'?); the space searches: op, activation"
    )


def test_a_bad_member_field_is_located():
    with pytest.raises(RecipeError) as e:
        fs.load_recipe(
            TINY,
            [
                "search.relaxation_overrides.op.kind=gumbel",
                "search.relaxation_overrides.op.tau_min=20",
            ],
        )
    assert "search.relaxation_overrides.op.tau_min: 20.0 is above tau_max=10.0" in str(e.value)
