"""Every CLI command, fed every kind of bad input it can be given, exits 2 with exactly one
``error:`` line on stderr and no traceback.

The commands are those ``python -m factorspace --help`` lists (a test checks the table covers
them all); the inputs are what users get wrong whatever the command: a missing file, a directory
where a file is expected, malformed YAML, an empty, binary, UTF-16 or 2 MB file, a symlink loop,
a file of the wrong kind (a genotype given as a recipe, a recipe as a genotype), one of the
right kind that does not validate (a genotype that does not fit, a terabyte recipe, a corrupt
run directory), markup in paths, a bad ``--device``, a bad ``--set`` and an ``--out`` that
cannot be a directory. Commands run
in-process through typer's ``CliRunner`` (typer's own usage errors, such as an unknown option,
are checked apart: click prints them as a box, exit 2).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from factorspace.cli import app
from tests.crafted import crafted_checkpoint

HERE = Path(__file__).resolve().parent / "bad_inputs"
VALID_RECIPE = HERE / "recipes" / "valid.yaml"
VALID_GENOTYPE = HERE / "genotypes" / "valid.yaml"
MARKUP = "[/x]:smile:[bold red]"  # rich would raise on [/x], drop [bold red], draw an emoji
NAME_MARKUP = ":smile:[bold red]"  # the part of MARKUP a file name can hold (no `/`)


def inputs(d: Path) -> dict[str, Path]:
    """The bad files, by kind, made in ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    files = {
        "missing": d / "missing.yaml",
        "directory": d / "a_directory",
        "malformed_yaml": d / "malformed.yaml",
        "empty": d / "empty.yaml",
        "binary": d / "binary.yaml",
        "utf16": d / "utf16.yaml",
        "symlink_loop": d / "loop.yaml",
        "markup_missing": d / "m[" / f"x]{NAME_MARKUP}missing.yaml",  # .../m[/x]...
        "markup_malformed": d / "[" / f"x]{NAME_MARKUP}" / f"[{NAME_MARKUP}.yaml",
        "list_document": d / "list.yaml",
        "too_large": d / "large.yaml",
        "invalid_study": d / "study.yaml",
        "invalid_train_recipe": d / "train.yaml",
        "corrupt_run": d / "run",
    }
    files["directory"].mkdir()
    files["malformed_yaml"].write_text("space: [1, 2\n  factors: }\n")
    files["empty"].write_text("")
    files["binary"].write_bytes(bytes(range(256)) * 8)
    files["utf16"].write_bytes("space:\n  factors: []\n".encode("utf-16"))
    files["symlink_loop"].symlink_to(files["symlink_loop"])
    files["markup_malformed"].parent.mkdir(parents=True)
    files["markup_malformed"].write_text("name: [/x]\n  oops: [\n")
    files["list_document"].write_text("- 1\n- 2\n")
    files["too_large"].write_text("# padding\n" * 200_000)  # 2 MB, above the loader's limit
    files["invalid_study"].write_text("name: s\nseeds: [0]\ntrain: {recipe: ../nowhere.yaml}\n")
    files["invalid_train_recipe"].write_text("train: {lr: 1.0e+300}\n")
    files["corrupt_run"].mkdir()
    (files["corrupt_run"] / "run.json").write_text("{not json")
    (files["corrupt_run"] / "checkpoints").mkdir()
    (files["corrupt_run"] / "checkpoints" / "last.pt").write_bytes(b"\x00" * 100)
    return files


# command -> (args given its main input and a fresh output path, what its main input is)
Command = Callable[[str, Path], list[str]]
COMMANDS: dict[str, tuple[Command, str]] = {
    "validate": (lambda p, o: ["validate", p], "recipe"),
    "space": (lambda p, o: ["space", p], "recipe"),
    "search": (lambda p, o: ["search", p, "--device", "cpu", "--out", str(o)], "recipe"),
    "bench": (lambda p, o: ["bench", p, "--device", "cpu", "--steps", "1"], "recipe"),
    "plant": (lambda p, o: ["plant", p, "--device", "cpu", "--out", str(o)], "recipe"),
    "study": (lambda p, o: ["study", p, "--device", "cpu", "--out", str(o)], "study"),
    "train": (lambda p, o: ["train", p, "--device", "cpu", "--out", str(o)], "genotype"),
    "train --recipe": (
        lambda p, o: ["train", str(VALID_GENOTYPE), "--recipe", p, "--device", "cpu"],
        "train recipe",
    ),
    "eval": (lambda p, o: ["eval", p, "--device", "cpu"], "checkpoint"),
    "info": (lambda p, o: ["info", p], "genotype"),
    "export": (lambda p, o: ["export", p, "--format", "source", "-o", str(o / "n.py")], "genotype"),
    "render": (lambda p, o: ["render", p, "-o", str(o / "cells.gv")], "genotype"),
    "report": (lambda p, o: ["report", p], "run directory"),
    "genotype set-activation": (
        lambda p, o: ["genotype", "set-activation", p, "relu", "-o", str(o / "g.json")],
        "genotype",
    ),
    "import-darts": (lambda p, o: ["import-darts", p, "-o", str(o / "g.json")], "genotype"),
    "nb201": (lambda p, o: ["nb201", p], "genotype"),
}
NO_INPUT = ("schema", "list")  # read no file: only typer's usage errors apply

# Commands given the wrong kind of document: a genotype where a recipe is expected and back.
WRONG_DOCUMENT = {"recipe": VALID_GENOTYPE, "study": VALID_RECIPE, "train recipe": VALID_RECIPE}
# A document of the right kind that does not validate (or a genotype that does not fit).
INVALID_DOCUMENT = {
    "recipe": HERE / "recipes" / "memory_terabytes.yaml",
    "genotype": HERE / "genotypes" / "huge_target.yaml",
    "study": "invalid_study",
    "train recipe": "invalid_train_recipe",
    "checkpoint": "corrupt_run",
    "run directory": "corrupt_run",
}
FILE_KINDS = [
    "missing",
    "directory",
    "malformed_yaml",
    "empty",
    "binary",
    "utf16",
    "symlink_loop",
    "markup_missing",
    "markup_malformed",
    "list_document",
    "too_large",
    "wrong_document",
    "invalid_document",
]


def file_args(command: str, kind: str, d: Path) -> list[str]:
    make, reads = COMMANDS[command]
    files = inputs(d / "in")
    if kind == "wrong_document":
        path = WRONG_DOCUMENT.get(reads, VALID_RECIPE)
    elif kind == "invalid_document":
        path = INVALID_DOCUMENT[reads]
        path = files[path] if isinstance(path, str) else path
    elif kind == "directory" and reads == "run directory":
        path = files["directory"]  # an empty directory: not a run's
    else:
        path = files[kind]
    return make(str(path), d / "out")


# Options every command that takes them gets wrong, with valid main inputs.
DEVICE_COMMANDS = {
    "search": lambda dev, o: ["search", str(VALID_RECIPE), "--device", dev, "--out", str(o)],
    "bench": lambda dev, o: ["bench", str(VALID_RECIPE), "--device", dev, "--steps", "1"],
    "plant": lambda dev, o: ["plant", str(VALID_RECIPE), "--device", dev, "--out", str(o)],
    "train": lambda dev, o: ["train", str(VALID_GENOTYPE), "--device", dev, "--out", str(o)],
    "eval": lambda dev, o: ["eval", str(o), "--device", dev],
}
BAD_DEVICES = ["cuda:abc", "mps", "tpu", MARKUP, "cuda:-1"]
SET_COMMANDS = {
    "validate": lambda s, o: ["validate", str(VALID_RECIPE), "--set", s],
    "space": lambda s, o: ["space", str(VALID_RECIPE), "--set", s],
    "search": lambda s, o: ["search", str(VALID_RECIPE), "--set", s, "--out", str(o)],
    "bench": lambda s, o: ["bench", str(VALID_RECIPE), "--set", s, "--device", "cpu"],
    "plant": lambda s, o: ["plant", str(VALID_RECIPE), "--set", s, "--out", str(o)],
    "train": lambda s, o: ["train", str(VALID_GENOTYPE), "--set", s, "--out", str(o)],
}
BAD_SETS = ["no_equals_sign", "search.epochs=-1", f"{MARKUP}=1", "search..epochs=1", "=1"]


def cases(commands, values) -> dict:
    """``parametrize`` keywords: every (command, value) pair, with readable ids."""
    pairs = list(itertools.product(commands, values))
    return {"argvalues": pairs, "ids": [f"{c}-{v}" for c, v in pairs]}


@pytest.fixture(autouse=True)
def bench_in_process(monkeypatch):
    """``bench`` measures each recipe in a fresh process (seconds to start); here in this one,
    so that its errors are checked in milliseconds (the relay: test_bench_in_a_child_...)."""
    from factorspace import bench

    monkeypatch.setattr(bench, "bench", functools.partial(bench.bench, isolate=False))


def test_bench_in_a_child_process_relays_an_error_as_one_line(tmp_path, monkeypatch):
    monkeypatch.undo()  # bench as the CLI runs it: in a child process
    one_error_line(["bench", str(tmp_path / "missing.yaml")])


def one_error_line(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    output = result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in output, output
    assert result.exit_code == 2, output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert [line for line in result.stderr.splitlines() if line.strip()] == errors, result.stderr


@pytest.mark.parametrize(("command", "kind"), **cases(COMMANDS, FILE_KINDS))
def test_a_bad_file_is_one_error_line(command, kind, tmp_path):
    one_error_line(file_args(command, kind, tmp_path))


def crafted_inputs(d: Path) -> dict[str, Path]:
    """Files from elsewhere that would run code if opened carelessly (issue 26), by the kind
    of input a command reads; each leaves ``d/MARKER`` when it runs."""
    marker = d / "MARKER"
    d.mkdir(parents=True)
    (d / "marker_module_i26.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    genotype = yaml.safe_load(VALID_GENOTYPE.read_text())
    genotype["imports"] = [{"module": "marker_module_i26", "folder": str(d)}]
    genotype["normal"]["edges"][0]["op"] = "an_operator_of_marker_module_i26"
    (d / "genotype.yaml").write_text(yaml.safe_dump(genotype))
    run = d / "run"
    crafted_checkpoint(run / "checkpoints" / "last.pt", marker, header=True, train=True)
    (run / "run.json").write_text('{"status": "interrupted"}')
    return {"checkpoint": run / "checkpoints" / "last.pt", "genotype": d / "genotype.yaml",
            "run directory": run}  # fmt: skip


UNTRUSTED = [c for c, (_, reads) in COMMANDS.items() if reads in ("checkpoint", "genotype")]


@pytest.mark.parametrize("command", [*UNTRUSTED, "report"])
def test_a_crafted_file_runs_nothing_and_is_one_error_line(command, tmp_path):
    make, reads = COMMANDS[command]
    path = crafted_inputs(tmp_path / "in")[reads]
    one_error_line(make(str(path), tmp_path / "out"))
    assert not (tmp_path / "in" / "MARKER").exists()


@pytest.mark.parametrize(("command", "device"), **cases(DEVICE_COMMANDS, BAD_DEVICES))
def test_a_bad_device_is_one_error_line(command, device, tmp_path):
    one_error_line(DEVICE_COMMANDS[command](device, tmp_path / "out"))


@pytest.mark.parametrize(("command", "setting"), **cases(SET_COMMANDS, BAD_SETS))
def test_a_bad_set_is_one_error_line(command, setting, tmp_path):
    one_error_line(SET_COMMANDS[command](setting, tmp_path / "out"))


@pytest.mark.parametrize("command", ["search", "plant", "train"])
def test_an_out_that_is_a_file_is_one_error_line(command, tmp_path):
    blocker = tmp_path / f"{NAME_MARKUP}file"
    blocker.write_text("")
    for out in (blocker, blocker / "run"):
        one_error_line(DEVICE_COMMANDS[command]("cpu", out))


def test_every_command_is_in_the_table():
    result = CliRunner().invoke(app, ["--help"])
    listed = {
        line.split()[1]
        for line in result.output.splitlines()
        if line.startswith("│ ") and line[2].isalpha()  # a command, not a wrapped help line
    }
    tested = {c.split()[0] for c in COMMANDS} | set(NO_INPUT)
    assert listed == tested


@pytest.mark.parametrize("command", [*COMMANDS, *NO_INPUT])
def test_a_usage_error_exits_2_without_a_traceback(command):
    result = CliRunner().invoke(app, [*command.split()[:1], "--no-such-option"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output + result.stderr
    assert "No such option: --no-such-option" in result.output + result.stderr


@pytest.mark.parametrize(("option", "value"), [("--cells", 10**5), ("--channels", 10**5)])
def test_info_refuses_a_network_too_large_to_build(option, value):
    """Found probing the commands: info built a terabyte network until the allocator failed."""
    result = CliRunner().invoke(app, ["info", "darts_v2", option, str(value)])
    assert result.exit_code == 2 and "Traceback" not in result.output + result.stderr
    assert result.stderr.startswith(f"error: {option}: the network needs about ")
    assert result.stderr.rstrip().endswith(
        f"above limits.memory = 128 GiB; reduce {option} ({value})"
    )
