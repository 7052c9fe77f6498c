"""The `factorspace` command as a typer user expects it: version, completion, order, help text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
from typer.testing import CliRunner

from factorspace._version import __version__
from factorspace.cli import app
from factorspace.cli.app import COMMAND_ORDER

ROOT = Path(__file__).resolve().parents[2]
WIDE = {"COLUMNS": "250", "NO_COLOR": "1"}  # one help line per option, no styling


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env=WIDE, prog_name="factorspace")


def test_version_prints_the_package_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == f"factorspace {__version__}\n"


def test_the_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["dynamic"]["version"] == {"attr": "factorspace._version.__version__"}


def test_help_offers_completion():
    help_text = invoke("--help").output
    assert "--install-completion" in help_text
    assert "--show-completion" in help_text


def test_show_completion_prints_a_bash_script():
    result = invoke("--show-completion", "bash")
    assert result.exit_code == 0
    assert "complete " in result.output
    assert "_FACTORSPACE_COMPLETE" in result.output


def test_commands_are_listed_in_workflow_order():
    help_text = invoke("--help").output
    listed = re.findall(r"^│ (\S+)\s{2,}", help_text.split("Commands")[1], re.MULTILINE)
    expected = [name for name in COMMAND_ORDER if name in listed]
    assert listed[: len(expected)] == expected
    assert listed[:4] == ["validate", "space", "search", "train"]


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["render"], "[default: <genotype name>_cells.pdf]"),
        (["render"], "[default: -o's suffix, else pdf]"),
        (["train"], "[default: DARTS's]"),
        (["bench"], "[default: the recipe's]"),
    ],
)
def test_help_shows_bracketed_defaults_literally(command, shown):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert shown in result.output


def test_bench_device_defaults_to_auto_like_every_command():
    assert "auto, cpu, cuda or cuda:N [default: auto]" in invoke("bench", "--help").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["bench", "r.yaml", "--update", "both"],
            "'both' is not one of 'sequential', 'simultaneous'",
        ),
        (
            ["bench", "r.yaml", "--device", "gpu"],
            "--device gpu: expected auto, cpu, cuda or cuda:N",
        ),
        (
            ["render", "DARTS_V2", "--format", "jpg"],
            "'jpg' is not one of 'pdf', 'svg', 'png', 'gv'",
        ),
        (["export", "DARTS_V2", "-o", "m.x", "--format", "tflite"], "'tflite' is not one of"),
    ],
)
def test_a_value_outside_an_options_choices_exits_2_with_one_message(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    flat = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert message in flat
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [[], *([name] for name in COMMAND_ORDER)])
def test_help_placeholders_read_as_typed_not_as_python_types(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "<bool>" not in result.output  # a flag takes no value
    assert "<list[" not in result.output
    if "--set" in result.output:
        assert re.search(r"--set\s+KEY=VALUE\s+override a recipe field", result.output)
