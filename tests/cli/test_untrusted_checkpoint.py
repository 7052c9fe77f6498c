"""A crafted checkpoint runs no code in any command that reads one (issue 26).

The file pickles an object whose ``__reduce__`` calls ``os.system("touch MARKER")``: loaded with
``weights_only=False`` it creates MARKER. It is tried with and without the sha256 header (the
checksum guards against damage, not against whoever crafts a file: they compute it too), as a
checkpoint file and as a run directory's, through every command that reads checkpoints or run
directories; each must leave no MARKER, and those that read it refuse it with one message.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

import factorspace as fs
from factorspace.cli import app
from factorspace.genotype import get_genotype, save_genotype
from factorspace.retrain.recipe import load_train_recipe
from factorspace.run.checkpoint import (
    load_checkpoint,
    records_block,
    restore_records,
    save_checkpoint,
)
from tests.crafted import checked, crafted_checkpoint
from tests.search.tiny import TINY, one_thread

HERE = Path(__file__).resolve().parents[1]
TINY_TRAIN = HERE / "study" / "tiny_train.yaml"


def run_dir(root: Path, marker: Path, *, header: bool, train: bool) -> Path:
    """A search (or re-training) run directory whose checkpoint is crafted."""
    root.mkdir(parents=True)
    if train:
        resolved = load_train_recipe(TINY_TRAIN).model_dump(mode="json")
        save_genotype(get_genotype("darts_v2"), root / "genotype.json")
    else:
        resolved = fs.load_recipe(TINY).model_dump(mode="json")
    (root / "recipe.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    (root / "run.json").write_text(json.dumps({"status": "interrupted"}))
    crafted_checkpoint(root / "checkpoints" / "last.pt", marker, header=header, train=train)
    return root


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.mark.parametrize("header", [False, True], ids=["no_header", "sha256_header"])
def test_loading_it_runs_nothing_and_says_why(tmp_path, header):
    marker = tmp_path / "MARKER"
    path = crafted_checkpoint(tmp_path / "evil.pt", marker, header=header, train=True)
    with pytest.raises(fs.FactorspaceError) as e:
        load_checkpoint(path)
    assert str(e.value).startswith(f"{path}: refused: it holds a Python object (posix.system)")
    assert not marker.exists()


def test_a_real_checkpoint_is_plain_data(tmp_path):
    """What a run keeps loads under weights_only: tensors, a Python random state (a tuple),
    optimizer states keyed by integers."""
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    from factorspace.run.seeding import rng_state

    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": rng_state()}
    save_checkpoint(tmp_path / "ok.pt", state)
    loaded = load_checkpoint(tmp_path / "ok.pt")
    assert loaded["rng"]["python"] == state["rng"]["python"]
    assert loaded["optimizer"]["state"].keys() == {0, 1}


def test_records_cannot_name_a_file_outside_the_run(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    buffer = io.BytesIO()
    torch.save({}, buffer)
    path = run / "checkpoints" / "last.pt"
    path.write_bytes(checked(records_block({"../outside.json": b"{}"}) + buffer.getvalue()))
    with pytest.raises(fs.FactorspaceError, match="is not a record file of a run"):
        restore_records(run, path)
    assert not (tmp_path / "outside.json").exists()


def commands(d: Path) -> dict[str, list[str]]:
    """Every command that reads a checkpoint or a run directory, given the crafted ones."""
    return {
        "eval FILE.pt": ["eval", str(d / "evil.pt"), "--device", "cpu"],
        "eval RUN": ["eval", str(d / "train_run"), "--device", "cpu"],
        "export FILE.pt": ["export", str(d / "evil.pt"), "-o", str(d / "x.onnx")],
        "export RUN": ["export", str(d / "train_run"), "--format", "source", "-o", str(d / "x.py")],
        "search --resume RUN": ["search", "--resume", str(d / "search_run"), "--device", "cpu"],
        "train --resume RUN": ["train", "--resume", str(d / "train_run"), "--device", "cpu"],
        "study (a cell to resume)": ["study", str(d / "study.yaml"), "--out", str(d / "study")],
        "info RUN": ["info", str(d / "train_run")],
        "render RUN": ["render", str(d / "train_run"), "-o", str(d / "cells.gv")],
        "report RUN": ["report", str(d / "search_run")],
    }


READS_THE_CHECKPOINT = {  # the others read a run's other files only, and succeed
    "eval FILE.pt",
    "eval RUN",
    "export FILE.pt",
    "export RUN",
    "search --resume RUN",
    "train --resume RUN",
    "study (a cell to resume)",
}


@pytest.fixture(scope="module", params=[False, True], ids=["no_header", "sha256_header"])
def crafted_inputs(request, tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("crafted")
    marker, header = d / "MARKER", request.param
    crafted_checkpoint(d / "evil.pt", marker, header=header, train=True)
    run_dir(d / "search_run", marker, header=header, train=False)
    run_dir(d / "train_run", marker, header=header, train=True)
    (d / "study.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "crafted",
                "seeds": [0],
                "train": {"recipe": str(TINY_TRAIN)},
                "variants": {"v": {"search": {"recipe": str(TINY)}}},
            }
        )
    )
    run_dir(d / "study" / "v" / "seed_0" / "search", marker, header=header, train=False)
    return d, marker


@pytest.mark.parametrize("command", list(commands(Path("."))))
def test_no_command_runs_the_crafted_checkpoint(crafted_inputs, command):
    d, marker = crafted_inputs
    result = CliRunner().invoke(app, commands(d)[command])
    assert not marker.exists(), command
    assert "Traceback" not in result.output + result.stderr
    if command in READS_THE_CHECKPOINT:
        assert result.exit_code == 2, result.output
        (line,) = [line for line in result.stderr.splitlines() if line.strip()]
        assert "refused: it holds a Python object (posix.system)" in line, line
    elif command == "report RUN":  # no finished epoch to report: said, the checkpoint unread
        assert result.exit_code == 2 and "not a search run directory with a finished epoch" in (
            result.stderr
        )
    else:
        assert result.exit_code == 0, result.output + result.stderr
