"""The shipped JSON Schemas: up to date, pointed at by every recipe, and strict enough to help."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.schemas import FILES, recipe_schema, schema_text

from .conftest import ROOT

jsonschema = pytest.importorskip("jsonschema")  # in the dev extra; CI installs it

ALL_RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))


def kind_of(path) -> str:
    return "train" if path.name.startswith("train_") else "search"


def validator(kind: str):
    schema = json.loads(FILES[kind].read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("kind", ["search", "train"])
def test_shipped_schema_is_up_to_date(kind):
    assert FILES[kind].read_text(encoding="utf-8") == schema_text(kind), (
        "factorspace/schemas is stale: run `python scripts/write_schemas.py`"
    )


@pytest.mark.parametrize("recipe", ALL_RECIPES, ids=lambda p: p.name)
def test_every_recipe_names_its_schema_on_line_one(recipe):
    first = recipe.read_text(encoding="utf-8").splitlines()[0]
    target = FILES[kind_of(recipe)].name
    assert first == f"# yaml-language-server: $schema=../factorspace/schemas/{target}"
    assert (recipe.parent / first.split("=", 1)[1]).resolve() == FILES[kind_of(recipe)]


@pytest.mark.parametrize("recipe", ALL_RECIPES, ids=lambda p: p.name)
def test_schema_accepts_every_shipped_recipe(recipe):
    data = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    errors = [e.message for e in validator(kind_of(recipe)).iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize(
    ("recipe", "edit", "bad_key"),
    [
        (
            "adarts_cifar.yaml",
            lambda d: d["search"].update(epoch=d["search"].pop("epochs")),
            "epoch",
        ),
        ("adarts_cifar.yaml", lambda d: d["space"]["factors"][1].update(aplies_to={}), "aplies_to"),
        ("adarts_cifar.yaml", lambda d: d.update(supernett=d.pop("supernet")), "supernett"),
        ("train_cifar.yaml", lambda d: d["train"].update(momentun=0.9), "momentun"),
    ],
    ids=["search.epoch", "factor.aplies_to", "supernett", "train.momentun"],
)
def test_schema_rejects_a_misspelt_key(recipe, edit, bad_key):
    path = ROOT / "recipes" / recipe
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    messages = [e.message for e in validator(kind_of(path)).iter_errors(data)]
    assert any(bad_key in m for m in messages), messages


def test_schema_checks_types_and_bounds():
    data = yaml.safe_load((ROOT / "recipes" / "darts_cifar.yaml").read_text(encoding="utf-8"))
    data["supernet"]["channels"] = 0
    data["space"]["mode"] = "factorised"
    messages = sorted(e.message for e in validator("search").iter_errors(data))
    assert len(messages) == 2 and "0 is less than the minimum of 2" in messages


def test_schema_names_the_step_order_and_edge_weights_values():
    data = yaml.safe_load((ROOT / "recipes" / "darts_cifar.yaml").read_text(encoding="utf-8"))
    data["search"].update(step_order="weights_last", edge_weights="own")
    messages = sorted(e.message for e in validator("search").iter_errors(data))
    assert messages == [
        "'own' is not one of ['with_operator', 'own_group']",
        "'weights_last' is not one of ['weights_first', 'arch_first']",
    ]


def test_choices_accept_user_registered_names():
    data = {"space": {"factors": [{"name": "op", "role": "operator", "choices": ["my_op"]}]}}
    assert list(validator("search").iter_errors(data)) == []


def test_cli_prints_the_schemas():
    runner = CliRunner()
    for args, kind in ((["schema"], "search"), (["schema", "--train"], "train")):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == recipe_schema(kind)
