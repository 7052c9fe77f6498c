"""`factorspace list`: the registered operators and activations, the recipes, the zoo."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import factorspace as fs
from factorspace.cli import app
from tests.genotype.custom_ops import custom_ops_fixture  # noqa: F401  (fixture)

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def listed(*args) -> dict:
    result = invoke("list", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_lists_every_section_as_the_python_api_does():
    everything = listed()
    assert list(everything) == ["operators", "activations", "recipes", "zoo"]
    assert [o["name"] for o in everything["operators"]] == fs.list_operators()
    assert [a["name"] for a in everything["activations"]] == fs.list_activations()
    assert [r["name"] for r in everything["recipes"]] == [r.name for r in fs.list_recipes()]
    assert [z["name"] for z in everything["zoo"]] == fs.list_genotypes()


def test_operators_carry_their_tags_and_arguments():
    operators = {o["name"]: o for o in listed("operators")["operators"]}
    assert operators["none"]["tags"] == ["zero"]
    assert operators["sep_conv_3x3"]["tags"] == ["parameterized"]
    assert operators["sep_conv"]["arguments"] == {
        "kernel_size": {"default": 3, "accepts": "odd_kernel_size(value)"}
    }


def test_one_section_as_a_table():
    result = invoke("list", "zoo")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"zoo ({len(fs.list_genotypes())})")
    assert all(name in result.output for name in fs.list_genotypes())
    assert "operators" not in result.output


def test_import_adds_a_modules_operators(custom_ops, monkeypatch):
    monkeypatch.chdir(custom_ops.folder.parent)  # a .py path is relative to the working directory
    spec = f"{custom_ops.folder.name}/{custom_ops.file.name}"
    sections = listed("all", "--import", spec)
    ops = {o["name"]: o for o in sections["operators"]}
    assert ops[custom_ops.op]["tags"] == ["parameterized"]
    assert ops[custom_ops.op]["module"] == custom_ops.module
    assert custom_ops.activation in [a["name"] for a in sections["activations"]]
    table = invoke("list", "operators")
    assert custom_ops.op in table.output and f"{custom_ops.module})" in table.output


def test_a_module_that_cannot_be_imported_is_one_message():
    result = invoke("list", "--import", "no_such_module_i20")
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot import module 'no_such_module_i20'")


def test_an_unknown_section_is_refused():
    result = invoke("list", "models")
    assert result.exit_code == 2 and "'models' is not one of" in result.output


def test_recipe_descriptions_are_whole_sentences():
    recipes = {r["name"]: r["description"] for r in listed("recipes")["recipes"]}
    assert recipes["quickstart"].endswith("scaled down to finish in a few minutes on a 2-core CPU.")
