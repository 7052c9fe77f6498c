"""The smaller points of issue 26: one line for each thing a user is told."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.cli.app import reports_errors
from factorspace.genotype import get_genotype, save_genotype
from factorspace.retrain import load_train_recipe, train
from factorspace.run import atomic
from factorspace.run.resume import RecordsRestored
from tests.conftest import ROOT
from tests.retrain.test_train import mini_imagefolder
from tests.search.tiny import one_thread


def test_a_restored_record_is_one_plain_warning_line(capsys):
    @reports_errors
    def command():
        warnings.warn("RUN/arch/epoch_001.json: missing; rewritten", RecordsRestored, stacklevel=2)

    command()
    assert capsys.readouterr().err == "warning: RUN/arch/epoch_001.json: missing; rewritten\n"


def test_importing_the_cli_module_runs_nothing(tmp_path):
    """A recipe's `imports: [factorspace.__main__]` ran the whole command a second time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", "import factorspace.__main__"], env=env, capture_output=True
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "imports: [factorspace.__main__]\n"
        "space: {factors: [{name: op, role: operator, choices: [skip_connect]}]}\n"
    )
    result = CliRunner().invoke(app, ["validate", str(recipe)])
    assert result.exit_code == 0 and result.output.count("\n") == 1, result.output


def test_a_full_disk_names_the_file(tmp_path, monkeypatch, capsys):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    target = tmp_path / "run.json"

    @reports_errors
    def command():
        atomic.write_json(target, {})

    with pytest.raises(typer.Exit):
        command()
    assert capsys.readouterr().err == f"error: {target}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []  # no temporary file left


def test_an_export_that_fails_to_write_is_one_message_and_leaves_nothing(tmp_path, monkeypatch):
    from factorspace.retrain import graph_export

    def half_written(model, path, example):
        Path(path).write_bytes(b"PK\x03\x04 half")
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 512")

    monkeypatch.setattr(graph_export, "export_program", half_written)
    target = tmp_path / "net.pt2"
    result = CliRunner().invoke(app, ["export", "darts_v2", "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: -o {target}: cannot write it ([enforce fail at inline_container.cc:664] . "
        "unexpected pos 512)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_eval_of_a_run_with_a_swapped_genotype_says_what_it_scores(tmp_path):
    data = mini_imagefolder(tmp_path / "data", train_per_class=2, test_per_class=1)
    recipe = load_train_recipe(
        ROOT / "tests" / "study" / "tiny_train.yaml",
        ["data.dataset=imagefolder", f"data.root={data}", "data.subset_per_class=null"],
    )
    with one_thread():
        train("darts_v2", recipe, out=tmp_path / "run", device="cpu")
    save_genotype(get_genotype("pc_darts_cifar"), tmp_path / "run" / "genotype.json")
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "run"), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    warning = (
        f"warning: {tmp_path / 'run' / 'genotype.json'} is not the genotype this checkpoint was "
        "trained with; scoring the checkpoint's own (darts_v2), which its weights fit\n"
    )
    assert result.stderr == warning
    assert json.loads(result.stdout)["note"] == warning.removeprefix("warning: ").strip()
