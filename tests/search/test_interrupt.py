"""Ctrl-C, SIGTERM and SIGKILL during a search: a whole checkpoint, and a resume that ends where an
uninterrupted run ends (architecture parameters to 1e-6, the same genotype)."""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest

from factorspace.genotype import load_genotype
from factorspace.run.checkpoint import load_checkpoint
from factorspace.run.rundir import RunDir
from factorspace.search import Interrupted, optim, search
from tests.search.tiny import TINY, assert_same_alphas, cli, final_alphas, one_thread, tiny_recipe

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
