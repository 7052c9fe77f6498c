"""A study is safe to run twice and stays in its directory (issue 26): a second study on the same
``--out`` is refused while the first runs; names that would leave ``--out`` are refused; a cell
interrupted in its re-training's last test pass finishes with the uninterrupted results."""

from __future__ import annotations

import csv
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.errors import Interrupted, RecipeError
from factorspace.study import run_study
from factorspace.study.cell import resumable
from factorspace.study.load import load_study
from tests.conftest import ROOT
from tests.retrain.test_train import mini_imagefolder
from tests.search.tiny import TINY, one_thread

HERE = Path(__file__).resolve().parent
train_module = importlib.import_module("factorspace.retrain.train")  # not the function


def write_study(d: Path, data: Path, **fields) -> Path:
    """One variant, one seed: a one-epoch tiny search and a 2-step re-training."""
    study = {
        "name": "safety",
        "seeds": [0],
        "train": {
            "recipe": str(HERE / "tiny_train.yaml"),
            "set": ["data.dataset=imagefolder", f"data.root={data}", "data.subset_per_class=null"],
        },
        "variants": {
            "v": {
                "search": {
                    "recipe": str(TINY),
                    "set": ["search.epochs=1", "search.checkpoint_every_steps=null"],
                }
            }
        },
    } | fields
    path = d / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def results(out: Path) -> list[dict]:
    with (out / "results.csv").open() as f:
        return [
            {k: v for k, v in r.items() if not k.endswith("_seconds")} for r in csv.DictReader(f)
        ]


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory):
    """Two `factorspace study` processes on one --out, started 0.5 s apart."""
    d = tmp_path_factory.mktemp("twice")
    study = write_study(d, mini_imagefolder(d / "data"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "factorspace", "study", str(study), "--out", str(d / "out")]
    args += ["--device", "cpu", "--threads", "1"]
    first = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(0.5)
    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    out, err = first.communicate(timeout=300)
    return d, study, (first.returncode, out, err), (second.returncode, second.stdout, second.stderr)


@pytest.mark.slow
def test_a_second_study_on_the_same_out_is_refused(two_studies):
    d, _, first, second = two_studies
    outcomes = sorted([first, second], key=lambda o: o[0])
    (ran, _, ran_err), (refused, _, refused_err) = outcomes
    assert ran == 0, ran_err
    assert refused == 2
    (line,) = [line for line in refused_err.splitlines() if line.strip()]
    assert line.startswith(f"error: {d / 'out'}: in use by another study (process ")
    assert len(results(d / "out")) == 1  # the one that ran finished its cell, untrampled


@pytest.mark.slow
def test_a_cell_stopped_in_its_last_test_pass_finishes(two_studies, tmp_path, monkeypatch):
    d, study, *_ = two_studies
    original = train_module.evaluate

    def evaluate_with_ctrl_c(*args, **kw):
        signal.raise_signal(signal.SIGINT)  # after train.max_steps' step: the bug of issue 26
        return original(*args, **kw)

    monkeypatch.setattr(train_module, "evaluate", evaluate_with_ctrl_c)
    with one_thread(), pytest.raises(Interrupted):
        run_study(study, tmp_path / "out", device="cpu", print_line=lambda _: None)
    monkeypatch.undo()
    with one_thread():
        run_study(study, tmp_path / "out", device="cpu", print_line=lambda _: None)
    assert results(tmp_path / "out") == results(d / "out")


@pytest.mark.parametrize(
    ("where", "name", "says"),
    [
        ("variant", "..", "is empty or a relative directory"),
        ("variant", ".", "is empty or a relative directory"),
        ("variant", "a/b", "letters, digits"),
        ("study", "..", "is empty or a relative directory"),
        ("study", "../up", "contains a path separator"),
    ],
)
def test_names_that_leave_the_study_directory_are_refused(tmp_path, where, name, says):
    fields = {"name": name} if where == "study" else {}
    path = write_study(tmp_path, tmp_path, **fields)
    if where == "variant":
        data = yaml.safe_load(path.read_text())
        data["variants"] = {name: data["variants"]["v"]}
        path.write_text(yaml.safe_dump(data))
    with pytest.raises(RecipeError, match=says) as e:
        load_study(path)
    assert str(e.value).startswith(f"{path}:")
    result = CliRunner().invoke(app, ["study", str(path), "--device", "cpu"])
    assert result.exit_code == 2 and says in result.stderr
    assert not (tmp_path.parent / "seed_0").exists() and not Path("runs/studies/..").is_symlink()


def test_a_cell_in_use_is_not_removed(tmp_path):
    """A run directory without a checkpoint is cleared only when nobody holds its lock."""
    from factorspace.run.lock import RunLock

    run = tmp_path / "search"
    run.mkdir()
    (run / "run.json").write_text("{}")
    lock = RunLock.acquire(run)
    try:
        with pytest.raises(Exception, match="in use by process"):
            resumable(run)
        assert (run / "run.json").exists()
    finally:
        lock.release()
    assert resumable(run) is False and not run.exists()
