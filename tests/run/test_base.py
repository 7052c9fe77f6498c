"""The base of every run: checkpoint save and restore, status, early ends, a clean failed start."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from factorspace.errors import FactorspaceError, Interrupted
from factorspace.run.base import POSITION, Run, open_run
from factorspace.run.checkpoint import save_checkpoint
from factorspace.run.rundir import MetricsLog, RunDir
from factorspace.run.stopping import StopRequested

CPU = torch.device("cpu")


class Counting(Run):
    """A run whose state is one tensor, moved by a random draw per step."""

    kind, command = "count", "count THING"
    checkpoint_keys = POSITION | {"weights"}

    def __init__(self, run_dir: Path) -> None:
        super().__init__(run_dir, CPU, None)
        self.weights, self.totals = torch.zeros(3), {"n": 0}

    def state(self) -> dict:
        return {**self.position(), "weights": self.weights.clone()}

    def load_state(self, state: dict, path: Path) -> None:
        self.weights = state["weights"].clone()

    def advance(self, steps: int) -> None:
        for _ in range(steps):
            self.weights += torch.rand(3) + random.random()
            self.step += 1
            self.totals["n"] += 1


def test_restore_continues_as_an_uninterrupted_run(tmp_path):
    torch.manual_seed(0)
    run = Counting(tmp_path)
    run.advance(2)
    run.epoch, run.rows = 1, [{"epoch": 1, "loss": 0.5}]
    run.save()
    run.metrics.write([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}])  # then killed
    run.advance(3)
    expected = run.weights.clone()

    resumed = Counting(tmp_path)
    resumed.restore()
    assert (resumed.epoch, resumed.step, resumed.totals) == (1, 2, {"n": 2})
    assert resumed.rows == [{"epoch": 1, "loss": 0.5}]  # rows past the checkpoint's epoch dropped
    resumed.advance(3)  # the random state came back too: the same draws
    assert torch.equal(resumed.weights, expected)


def test_restore_refuses_a_checkpoint_of_another_kind(tmp_path):
    save_checkpoint(RunDir(tmp_path).checkpoint, {"epoch": 0, "model": {}})
    with pytest.raises(FactorspaceError, match=r"last.pt: not a checkpoint of `factorspace count`"):
        Counting(tmp_path).restore()


def test_status_and_start_are_recorded_in_run_json(tmp_path):
    run = Counting(tmp_path)
    run.record_start({"name": "r"}, seed=4)
    record = json.loads(run.paths.record.read_text())
    assert (
        record["status"] == "running" and record["seed"] == 4 and record["env"]["device"] == "cpu"
    )
    assert run.paths.recipe.read_text() == "name: r\n"
    run.epoch = 3
    run.set_status("complete", seconds=1.5)
    record = json.loads(run.paths.record.read_text())
    assert (record["status"], record["epochs_done"], record["seconds"]) == ("complete", 3, 1.5)
    assert record["seed"] == 4  # merged, not replaced


def test_a_stop_request_saves_and_says_how_to_resume(tmp_path):
    run = Counting(tmp_path)
    run.advance(1)
    with pytest.raises(Interrupted) as e, run.recorded_end():
        raise StopRequested
    assert str(e.value) == (
        f"interrupted at epoch 1, step 1; checkpoint written. "
        f"Continue with: factorspace count --resume {tmp_path}"
    )
    assert run.paths.checkpoint.is_file() and run.paths.status() == "interrupted"


def test_an_error_marks_the_run_failed(tmp_path):
    run = Counting(tmp_path)
    with pytest.raises(FactorspaceError, match="bad"), run.recorded_end():
        raise FactorspaceError("bad")
    assert run.paths.read_record() == {"status": "failed", "epochs_done": 0, "error": "bad"}


@pytest.mark.parametrize("existed", [False, True])
def test_a_run_that_fails_to_start_leaves_nothing(tmp_path, existed):
    out = tmp_path / "run"
    if existed:
        out.mkdir()

    def build(run_dir: Path) -> Counting:
        (run_dir / "partial.txt").write_text("x")
        raise FactorspaceError("bad data")

    with pytest.raises(FactorspaceError, match="bad data"):
        open_run(out, "count", False, build)
    assert out.is_dir() == existed
    assert not existed or not any(out.iterdir())


def test_open_run_checks_before_resuming(tmp_path):
    RunDir(tmp_path).update_record(status="interrupted")
    Counting(tmp_path).save()
    seen = []
    with open_run(tmp_path, "count", True, Counting, checks=[seen.append]) as run:
        assert seen == [tmp_path] and run.run_dir == tmp_path and run.resuming


def test_a_run_holds_its_directory_until_its_end(tmp_path):
    refused = pytest.raises(FactorspaceError, match=f"{tmp_path}: in use by another run")
    with open_run(tmp_path, "count", False, Counting) as run, refused:
        run.record_start({"name": "r"})
        open_run(tmp_path, "count", True, Counting)
    with open_run(tmp_path, "count", True, Counting):  # free again (restarted: no checkpoint)
        pass


def test_any_error_after_the_start_marks_the_run_failed_with_its_type(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), open_run(tmp_path, "c", False, Counting) as run:
        run.record_start({"name": "r"})
        raise RuntimeError("boom")
    assert run.paths.read_record()["status"] == "failed"
    assert run.paths.read_record()["error"] == "RuntimeError: boom"


def test_an_error_before_the_start_changes_nothing(tmp_path):
    Counting(tmp_path).record_start({"name": "r"})
    Counting(tmp_path).save()
    RunDir(tmp_path).update_record(status="interrupted")
    with pytest.raises(RuntimeError), open_run(tmp_path, "c", True, Counting):
        raise RuntimeError("refused before restore")
    assert RunDir(tmp_path).status() == "interrupted"


def test_missing_metrics_rows_are_rebuilt_from_the_checkpoint_and_said(tmp_path):
    rows = [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": float("nan")}]
    run = Counting(tmp_path)
    run.epoch, run.rows = 2, rows
    run.metrics.write(rows)
    run.save()
    said = []
    for damage, problem in [
        (
            lambda: run.metrics.jsonl.unlink(),
            "missing (the rows of epochs 1-2 are in the checkpoint)",
        ),
        (lambda: run.metrics.write(rows[:1]), "no row for epoch(s) 2"),
        (
            lambda: run.metrics.write([{"epoch": 1, "loss": 9}]),
            "no row for epoch(s) 2 and row(s) of epoch(s) 1 differ from the checkpoint's",
        ),
    ]:
        damage()
        resumed = Counting(tmp_path)
        resumed.say = said.append
        resumed.restore()
        assert json.dumps(resumed.rows) == json.dumps(rows)
        assert json.dumps(MetricsLog(tmp_path).rows()) == json.dumps(rows)  # written back
        assert (
            said.pop()
            == f"{run.metrics.jsonl}: {problem}; rewritten from the checkpoint {run.paths.checkpoint}"
        )
    resumed = Counting(tmp_path)
    resumed.say = said.append
    resumed.restore()
    assert said == []  # nothing wrong: nothing said
