"""The tiny search shared by the reliability tests: its recipe, its CLI line, its results."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import torch

import factorspace as fs
from factorspace.run.rundir import RunDir

ROOT = Path(__file__).resolve().parents[2]
TINY = Path(__file__).with_name("tiny.yaml")


def tiny_recipe(*overrides: str) -> fs.Recipe:
    return fs.load_recipe(TINY, list(overrides))


def cli(*args: str, **popen) -> subprocess.Popen:
    """``python -m factorspace ARGS`` in the repository root, one thread (as the tests run)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "factorspace", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


@contextlib.contextmanager
def one_thread():
    """Run in-process with one thread, as the subprocesses do, so results match bit for bit."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def final_alphas(run_dir: Path) -> dict:
    """The architecture parameters after the last epoch, as the run directory records them."""
    last = RunDir(run_dir).arch_records()[-1]
    return json.loads(last.read_text())["alphas"]


def assert_same_alphas(a: dict, b: dict, atol: float = 1e-6) -> None:
    assert a.keys() == b.keys()
    for cell in a:
        assert a[cell].keys() == b[cell].keys()
        for factor in a[cell]:
            torch.testing.assert_close(
                torch.tensor(a[cell][factor]), torch.tensor(b[cell][factor]), atol=atol, rtol=0
            )


def interrupt_at(monkeypatch, call: int) -> None:
    """Ctrl-C during the weight step ``call`` (10 per epoch of the tiny recipe)."""
    from factorspace.search import optim

    original, calls = optim.weight_step, []

    def weight_step_with_ctrl_c(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(optim, "weight_step", weight_step_with_ctrl_c)
