"""A recipe's `imports:` found beside the recipe, and recorded so the recipe loads from anywhere."""

from __future__ import annotations

import yaml

import factorspace as fs
from factorspace.errors import RecipeError
from factorspace.registry import ACTIVATIONS, OPERATORS
from tests.genotype.custom_ops import custom_ops_fixture, tiny_recipe_text  # noqa: F401


def test_a_module_beside_the_recipe_is_imported_without_pythonpath(custom_ops):
    recipe_file = custom_ops.folder / "recipe.yaml"
    recipe_file.write_text(tiny_recipe_text(custom_ops))
    recipe = fs.load_recipe(recipe_file)
    assert custom_ops.op in OPERATORS and custom_ops.activation in ACTIVATIONS
    assert recipe.space.operator.choices[-1] == custom_ops.op
    # recorded by its file, so a copy of the recipe elsewhere (a run's recipe.yaml) finds it
    assert recipe.imports == [str(custom_ops.file.resolve())]


def test_the_recorded_recipe_loads_from_another_folder(custom_ops, tmp_path):
    recipe_file = custom_ops.folder / "recipe.yaml"
    recipe_file.write_text(tiny_recipe_text(custom_ops))
    recorded = tmp_path / "run" / "recipe.yaml"
    recorded.parent.mkdir()
    recorded.write_text(yaml.safe_dump(fs.load_recipe(recipe_file).model_dump(mode="json")))
    assert fs.load_recipe(recorded).imports == [str(custom_ops.file.resolve())]


def test_a_py_file_relative_to_the_recipe(custom_ops):
    recipe_file = custom_ops.folder / "recipe.yaml"
    recipe_file.write_text(tiny_recipe_text(custom_ops, imports=custom_ops.file.name))
    assert fs.load_recipe(recipe_file).imports == [str(custom_ops.file.resolve())]


def test_a_module_on_the_python_path_is_kept_by_name(tmp_path):
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(
        "imports: [tests.plugins.my_activations]\n"
        "space:\n  factors:\n    - {name: op, role: operator, choices: [none, test_conv1x1]}\n"
        "  cell: {nodes: 2, keep: 2}\n"
    )
    assert fs.load_recipe(recipe_file).imports == ["tests.plugins.my_activations"]


def test_a_module_found_nowhere_is_located_in_the_recipe(tmp_path):
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text("name: x\nimports: [nowhere_i20]\nspace: {}\n")
    try:
        fs.load_recipe(recipe_file)
    except RecipeError as e:
        assert str(e) == (
            f"{recipe_file}:2: imports[0]: cannot import module 'nowhere_i20': "
            f"ModuleNotFoundError: No module named 'nowhere_i20' on the Python path nor in "
            f"{tmp_path.resolve()}"
        )
    else:
        raise AssertionError("no error")
