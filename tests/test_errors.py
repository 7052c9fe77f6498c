"""Errors carry their field; the loader places them in the recipe from the field alone."""

from pathlib import Path

import pytest

from factorspace.errors import FactorspaceError, RecipeError
from factorspace.loader import errors_located

RECIPE = """\
name: tiny
space:
  factors:
    - {name: op, role: operator, choices: [none, skip_connect]}
data:
  dataset: folder
  root: /nowhere
"""


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "does not exist"),
        ({"field": "data.root"}, "data.root: does not exist"),
        ({"field": "data.root", "file": "r.yaml"}, "r.yaml: data.root: does not exist"),
        (
            {"field": "data.root", "file": "r.yaml", "line": 7},
            "r.yaml:7: data.root: does not exist",
        ),
        ({"file": Path("g.json"), "line": 3}, "g.json:3: does not exist"),
    ],
)
def test_message_names_file_line_and_field(kwargs, expected):
    error = FactorspaceError("does not exist", **kwargs)
    assert str(error) == expected
    assert error.message == "does not exist"


def test_recipe_error_is_a_located_factorspace_error():
    error = RecipeError("bad", path="r.yaml", line=2, field="space.cell")
    assert str(error) == "r.yaml:2: space.cell: bad"
    assert (error.file, error.path, error.line, error.field) == (
        "r.yaml",
        "r.yaml",
        2,
        "space.cell",
    )


def test_errors_located_reads_the_field_for_the_line(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE)
    with pytest.raises(RecipeError) as caught, errors_located(path):
        raise FactorspaceError("/nowhere does not exist", field="data.root")
    assert str(caught.value) == f"{path}:7: data.root: /nowhere does not exist"


def test_errors_located_names_the_override_that_set_the_field(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE)
    with pytest.raises(RecipeError) as caught, errors_located(path, ["data.root=/elsewhere"]):
        raise FactorspaceError("/elsewhere does not exist", field="data.root")
    assert str(caught.value) == f"{path} (--set data.root): data.root: /elsewhere does not exist"


def test_errors_located_never_parses_the_message(tmp_path):
    """A message that merely starts like a field (a file name, say) is left as it is."""
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE)
    with pytest.raises(FactorspaceError) as caught, errors_located(path):
        raise FactorspaceError("data.root: looks like a field but is text")
    assert str(caught.value) == "data.root: looks like a field but is text"
    assert caught.value.file is None


def test_errors_located_leaves_errors_outside_the_recipe_alone(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE)
    with pytest.raises(FactorspaceError) as caught, errors_located(path):
        raise FactorspaceError("no checkpoint", field="run.checkpoint")
    assert str(caught.value) == "run.checkpoint: no checkpoint"


@pytest.mark.parametrize(
    "text",
    ["a [/x] closing tag", "[bold]not bold[/bold]", "kept [x] brackets", ":smile: stays text"],
)
def test_the_cli_prints_error_text_literally(tmp_path, text):
    """No rich markup, emoji codes or highlighting in what the user wrote (issue 19)."""
    from typer.testing import CliRunner

    from factorspace.cli import app

    folder = tmp_path / text.replace("/", "_")
    folder.mkdir()
    result = CliRunner().invoke(app, ["validate", str(folder / "recipe.yaml")])
    assert result.exit_code == 2
    assert f"error: {folder / 'recipe.yaml'}" in " ".join(result.stderr.split())


def test_a_clipped_path_keeps_its_file_name():
    from factorspace.errors import ECHO_LIMIT, clip

    path = "/very/long/" + "d" * 200 + "/missing.json"
    shortened = clip(path)
    assert len(shortened) == ECHO_LIMIT
    assert shortened.startswith("/very/long/d") and shortened.endswith("d/missing.json")
    assert "…" in shortened
    assert clip("short") == "short"
