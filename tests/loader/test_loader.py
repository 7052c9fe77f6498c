"""Recipes through the public loader: good ones load, bad ones get one located message."""

import textwrap

import pytest
import torch
from typer.testing import CliRunner

import factorspace as fs
from factorspace.cli import app
from factorspace.compile import compile_supernet
from factorspace.schema import SupernetConfig
from tests.conftest import RECIPES

GOOD = """\
name: tiny
space:
  mode: factorized
  factors:
    - name: op
      role: operator
      choices: [none, max_pool_3x3, skip_connect, sep_conv_3x3]
    - name: activation
      role: input
      choices: [relu, selu]
      applies_to: {factor: op, tags: [parameterized]}
  cell: {nodes: 2, keep: 2}
supernet: {channels: 4, cells: 2}
"""


def write(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_shipped_recipes_validate(path):
    recipe = fs.load_recipe(path)
    assert recipe.space.operator.name == "op"
    assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0


def test_recipe_yaml_roundtrips_through_the_model(tmp_path):
    import yaml

    recipe = fs.load_recipe(write(tmp_path, GOOD))
    again = write(tmp_path, yaml.safe_dump(recipe.model_dump(mode="json")), "again.yaml")
    assert fs.load_recipe(again) == recipe


# (case, edit of GOOD as (old, new), expected message pieces: line, field and text)
BAD = [
    ("yaml syntax", ("mode: factorized", "mode: [factorized"), ["r.yaml:", "YAML syntax error"]),
    ("unknown top key", ("supernet:", "supernet_:"), [":13:", "supernet_", "did you mean 'supernet'"]),
    ("unknown key", ("cell: {nodes: 2", "cell: {node: 2"), [":12:", "space.cell.node", "'nodes'"]),
    ("unknown op", ("sep_conv_3x3]", "sep_conv_3x4]"), [
        ":7:", "space.factors[0].choices[3]", "unknown operator 'sep_conv_3x4'",
        "did you mean 'sep_conv_3x3'"]),
    ("unknown activation", ("[relu, selu]", "[relu, selu2]"), [
        ":10:", "space.factors[1].choices[1]", "unknown activation 'selu2'"]),
    ("duplicate factor", ("name: activation", "name: op"), [
        ":8:", "space.factors[1].name", "duplicate factor name 'op'"]),
    ("duplicate choice", ("[relu, selu]", "[relu, relu]"), [
        "space.factors[1].choices[1]", "duplicate choice 'relu'"]),
    ("rule names missing factor", ("{factor: op,", "{factor: ops,"), [
        ":11:", "space.factors[1].applies_to.factor", "unknown factor 'ops'"]),
    ("rule names missing choice", ("tags: [parameterized]", "choices: [sep_conv_5x5]"), [
        ":11:", "space.factors[1].applies_to.choices[0]", "'sep_conv_5x5'"]),
    ("rule names unknown tag", ("tags: [parameterized]", "tags: [parametrized]"), [
        "applies_to.tags[0]", "did you mean 'parameterized'"]),
    ("no operator factor", ("role: operator", "role: input\n      applies_to: {tags: [pooling]}"), [
        ":4:", "space.factors", "no factor has role `operator`; exactly one must"]),
    ("input factor without a rule", ("      applies_to: {factor: op, tags: [parameterized]}\n", ""), [
        ":8:", "space.factors[1].applies_to",
        "an input factor needs applies_to, the operator choices it transforms the input of; "
        "the paper's activations: applies_to: {factor: op, tags: [parameterized]}"]),
    ("argument factor without a rule", ("  cell:", "    - {name: kernel_size, role: argument, choices: [3, 5]}\n  cell:"), [
        ":12:", "space.factors[2].applies_to",
        "an argument factor needs applies_to, the operator choices whose constructor takes it"]),
    ("argument factor with a null rule", ("  cell:", "    - {name: kernel_size, role: argument, choices: [3], applies_to: null}\n  cell:"), [
        ":12:", "space.factors[2].applies_to", "an argument factor needs applies_to"]),
    ("a typo in applies_to is a typo", ("applies_to:", "applies_too:"), [
        ":11:", "space.factors[1].applies_too", "did you mean 'applies_to'"]),
    ("bad role", ("role: operator", "role: operation"), [
        ":6:", "space.factors[0]", "'operator', 'input', 'argument'"]),
    ("zero channels", ("channels: 4", "channels: 0"), [
        ":13:", "supernet.channels", "greater than or equal to 2", "(got 0)"]),
    ("negative cells", ("cells: 2", "cells: -1"), [":13:", "supernet.cells", "(got -1)"]),
    ("keep too large", ("keep: 2", "keep: 3"), [
        ":12:", "space.cell.keep", "keep=3 but the first intermediate node has only 2 inputs"]),
    ("wrong type", ("nodes: 2", "nodes: two"), [":12:", "space.cell.nodes", "valid integer"]),
    ("empty factor", ("[relu, selu]", "[]"), [":10:", "space.factors[1].choices", "at least 1"]),
    ("mode", ("mode: factorized", "mode: factorised"), [
        ":3:", "space.mode", "'factorized' or 'joint'"]),
    ("missing space", ("space:", "spaces:"), ["unknown key 'spaces'", "did you mean 'space'"]),
    ("odd channels", ("channels: 4", "channels: 5"), ["supernet.channels", "must be even"]),
    ("bad import", ("name: tiny", "name: tiny\nimports: [no_such_module_xyz]"), [
        ":2:", "imports[0]", "cannot import module 'no_such_module_xyz'"]),
    ("two operators", ("role: input\n      choices: [relu, selu]\n      applies_to: {factor: op, tags: [parameterized]}", "role: operator\n      choices: [avg_pool_3x3]"), [
        ":9:",
        "space.factors[1]", "only one factor may have role `operator`"]),
]  # fmt: skip


@pytest.mark.parametrize("case,edit,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_recipe_gets_one_located_message(tmp_path, case, edit, expected):
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(fs.RecipeError) as info:
        fs.load_recipe(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for piece in expected:
        assert piece in message, f"{piece!r} not in {message!r}"
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert expected[-1] in " ".join(result.output.split())


def test_missing_recipe_file(tmp_path):
    with pytest.raises(fs.RecipeError, match="no such file"):
        fs.load_recipe(tmp_path / "nope.yaml")


def test_set_overrides_a_field_and_reports_it(tmp_path):
    path = write(tmp_path, GOOD)
    assert fs.load_recipe(path, ["supernet.channels=8"]).supernet.channels == 8
    with pytest.raises(fs.RecipeError, match=r"--set search\.epoch.*did you mean 'epochs'"):
        fs.load_recipe(path, ["search.epoch=3"])
    with pytest.raises(fs.RecipeError, match="expected dotted.key=value"):
        fs.load_recipe(path, ["search.epochs"])


def test_user_registered_activation_and_operator_from_yaml(tmp_path, images):
    text = GOOD.replace("name: tiny", "name: tiny\nimports: [tests.plugins.my_activations]")
    text = text.replace("[relu, selu]", "[relu, test_hardswish]")
    text = text.replace("sep_conv_3x3]", "sep_conv_3x3, test_conv1x1]")
    recipe = fs.load_recipe(write(tmp_path, text))
    net = compile_supernet(recipe.space, SupernetConfig(channels=4, cells=3, classes=10))
    assert any(isinstance(m, torch.nn.Hardswish) for m in net.modules())
    net(images).sum().backward()
    assert net.arch_parameters()["activation"][0].grad.abs().sum() > 0


def test_pydantic_objects_equal_the_yaml(tmp_path):
    from factorspace.schema import InputFactor, OperatorFactor, Recipe, Rule, SpaceConfig

    recipe = Recipe(
        name="tiny",
        space=SpaceConfig(
            factors=[
                OperatorFactor(
                    role="operator",
                    name="op",
                    choices=["none", "max_pool_3x3", "skip_connect", "sep_conv_3x3"],
                ),
                InputFactor(
                    role="input",
                    name="activation",
                    choices=["relu", "selu"],
                    applies_to=Rule(factor="op", tags=["parameterized"]),
                ),
            ],
            cell={"nodes": 2, "keep": 2},
        ),
        supernet={"channels": 4, "cells": 2},
    )
    assert recipe == fs.load_recipe(write(tmp_path, GOOD))
