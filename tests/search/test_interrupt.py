"""Ctrl-C, SIGTERM and SIGKILL during a search: a whole checkpoint, and a resume that ends where an
uninterrupted run ends (architecture parameters to 1e-6, the same genotype)."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import time

import pytest
from rich.console import Console

from factorspace.errors import FactorspaceError
from factorspace.genotype import load_genotype
from factorspace.run.checkpoint import load_checkpoint
from factorspace.run.rundir import MetricsLog, RunDir
from factorspace.search import Interrupted, optim, search
from tests.search.tiny import (
    TINY,
    assert_same_alphas,
    cli,
    final_alphas,
    interrupt_at,
    one_thread,
    tiny_recipe,
)

KILL_MOMENTS = 3  # SIGKILLs, each at a random moment of a running search


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    with one_thread():
        search(tiny_recipe(), out=run_dir, device="cpu")
    return run_dir


def assert_matches(run_dir, reference) -> None:
    assert_same_alphas(final_alphas(run_dir), final_alphas(reference))
    got, want = load_genotype(run_dir / "genotype.json"), load_genotype(reference / "genotype.json")
    assert (got.normal, got.reduce) == (want.normal, want.reduce)  # `source` names the run
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"


def status(run_dir) -> str:
    return json.loads((run_dir / "run.json").read_text())["status"]


def test_ctrl_c_mid_step_stops_at_the_step_end_and_resume_matches(reference, tmp_path, monkeypatch):
    recipe, run_dir = tiny_recipe(), tmp_path / "run"
    original, calls = optim.weight_step, []

    def weight_step_with_ctrl_c(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # Ctrl-C arrives in the middle of the third step
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(optim, "weight_step", weight_step_with_ctrl_c)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN under nohup, default_int_handler in a shell
    with one_thread(), pytest.raises(Interrupted, match=r"epoch 1, step 3; checkpoint written"):
        search(recipe, out=run_dir, device="cpu")
    assert status(run_dir) == "interrupted"
    assert load_checkpoint(RunDir(run_dir).checkpoint)["step"] == 3  # the whole third step, no more
    assert signal.getsignal(signal.SIGINT) is before  # the handler is restored
    monkeypatch.undo()
    with one_thread():
        search(recipe, out=run_dir, device="cpu", resume=True)
    assert_matches(run_dir, reference)


def wait_for_new_checkpoint(proc, path, before) -> None:
    """Until the search has written a checkpoint (it is running) or has exited."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if inode(path) not in (None, before):
            return
        time.sleep(0.02)


def inode(path) -> int | None:
    try:
        return os.stat(path).st_ino  # a rename gives the new checkpoint a new inode
    except FileNotFoundError:
        return None


def test_sigterm_exits_130_within_seconds_and_resume_matches(reference, tmp_path):
    run_dir = tmp_path / "run"
    proc = cli("search", str(TINY), "--device", "cpu", "--out", str(run_dir))
    wait_for_new_checkpoint(proc, RunDir(run_dir).checkpoint, None)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert time.monotonic() - sent < 10
    assert "interrupted at epoch" in err and "--resume" in err and "Traceback" not in err
    assert status(run_dir) == "interrupted"
    load_checkpoint(RunDir(run_dir).checkpoint)  # whole
    with one_thread():
        search(tiny_recipe(), out=run_dir, device="cpu", resume=True)
    assert_matches(run_dir, reference)


def test_sigkill_at_random_moments_then_resume_matches(reference, tmp_path):
    run_dir, rng = tmp_path / "run", random.Random(8)
    work = json.loads((reference / "run.json").read_text())["seconds"]
    killed = []
    for attempt in range(KILL_MOMENTS):
        before = inode(RunDir(run_dir).checkpoint)
        resume = ["--resume"] if attempt else []
        proc = cli("search", str(TINY), "--device", "cpu", "--out", str(run_dir), *resume)
        wait_for_new_checkpoint(proc, RunDir(run_dir).checkpoint, before)
        delay = rng.uniform(0, 0.15 * work)  # after the first new checkpoint
        time.sleep(delay)
        if proc.poll() is None:
            proc.kill()
            killed.append(round(delay, 3))
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err, err
        state = load_checkpoint(RunDir(run_dir).checkpoint)  # the newest checkpoint is whole
        assert (state["epoch"], state["step"]) != (0, 0)
        assert status(run_dir) == "running"  # killed: neither complete nor interrupted
        assert not (run_dir / "genotype.json").exists()
    print(f"SIGKILL moments survived: {len(killed)} (seconds after a checkpoint: {killed})")
    assert len(killed) == KILL_MOMENTS
    proc = cli("search", str(TINY), "--device", "cpu", "--out", str(run_dir), "--resume")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert_matches(run_dir, reference)


def wait_for_start(proc, run_dir) -> None:
    """Until the search has written run.json (it holds its directory) or has exited."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if (run_dir / "run.json").exists():
            return
        time.sleep(0.01)


def test_a_second_search_on_the_same_out_is_refused_and_the_first_completes(reference, tmp_path):
    run_dir = tmp_path / "run"
    proc = cli("search", str(TINY), "--device", "cpu", "--out", str(run_dir))
    wait_for_start(proc, run_dir)
    for resume in (False, True):
        started = time.monotonic()
        with pytest.raises(FactorspaceError) as e:
            search(tiny_recipe(), out=run_dir, device="cpu", resume=resume)
        assert str(e.value).startswith(
            f"{run_dir}: in use by another run (process {proc.pid} holds run.lock)"
        )
        assert time.monotonic() - started < 5  # at once, not after the first run
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert_matches(run_dir, reference)  # the first run's result, untouched


LATE_CHECKPOINT = "search.checkpoint_every_steps=null"  # the first one at the end of epoch 1


def test_sigkill_before_the_first_checkpoint_then_resume_starts_again(reference, tmp_path):
    run_dir = tmp_path / "run"
    args = ["search", str(TINY), "--device", "cpu", "--out", str(run_dir)]
    proc = cli(*args, "--set", LATE_CHECKPOINT)
    wait_for_start(proc, run_dir)
    proc.kill()
    proc.communicate(timeout=60)
    assert status(run_dir) == "running" and not RunDir(run_dir).checkpoint.exists()
    said = io.StringIO()
    with one_thread():
        search(
            tiny_recipe(LATE_CHECKPOINT),
            out=run_dir,
            device="cpu",
            resume=True,
            console=Console(file=said, width=400),
        )
    assert (
        f"{run_dir}: no checkpoint to resume from (the run was killed (run.json said running, "
        "but no process held its lock) before its first one); starting it again from the "
        "beginning"
    ) in said.getvalue()
    assert_matches(run_dir, reference)


def test_a_flipped_bit_in_the_checkpoint_refuses_the_resume(tmp_path, monkeypatch):
    run_dir, checkpoint = tmp_path / "run", RunDir(tmp_path / "run").checkpoint
    interrupt_at(monkeypatch, 3)
    with one_thread(), pytest.raises(Interrupted):
        search(tiny_recipe(), out=run_dir, device="cpu")
    monkeypatch.undo()
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 0x10
    checkpoint.write_bytes(bytes(data))
    with one_thread(), pytest.raises(FactorspaceError) as e:
        search(tiny_recipe(), out=run_dir, device="cpu", resume=True)
    assert str(e.value).startswith(f"{checkpoint}: checksum mismatch: the checkpoint changed")
    assert status(run_dir) == "interrupted"  # nothing started: nothing recorded


def test_a_deleted_metrics_file_is_rebuilt_from_the_checkpoint(reference, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    interrupt_at(monkeypatch, 13)  # in epoch 2: epoch 1's row is in metrics.jsonl
    with one_thread(), pytest.raises(Interrupted):
        search(tiny_recipe(), out=run_dir, device="cpu")
    monkeypatch.undo()
    (run_dir / "metrics.jsonl").unlink()
    said = io.StringIO()
    with one_thread():
        result = search(
            tiny_recipe(),
            out=run_dir,
            device="cpu",
            resume=True,
            console=Console(file=said, width=400),
        )
    assert (
        f"{run_dir / 'metrics.jsonl'}: missing (the row of epoch 1 is in the checkpoint); "
        f"rewritten from the checkpoint {RunDir(run_dir).checkpoint}"
    ) in said.getvalue()
    assert_matches(run_dir, reference)
    want = [json.loads(line) for line in (reference / "metrics.jsonl").read_text().splitlines()]
    for got in (result.metrics, MetricsLog(run_dir).rows()):
        assert without_timing(got) == without_timing(want)


def without_timing(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "images_per_s"} for r in rows]
