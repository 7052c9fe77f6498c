"""Every crash after a re-training starts, in its first run or in a resume, leaves run.json at
``failed`` with the reason (the search's: tests/search/test_faults.py); the run then resumes."""

from __future__ import annotations

import json

import pytest
import torch

from factorspace.errors import FactorspaceError
from factorspace.retrain import load_train_recipe, train
from factorspace.retrain.train import Trainer
from tests.conftest import ROOT
from tests.retrain.test_train import mini_imagefolder, tiny
from tests.search.tiny import one_thread


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    root = mini_imagefolder(tmp_path_factory.mktemp("mini"), train_per_class=4, test_per_class=2)
    return load_train_recipe(ROOT / "recipes" / "train_cifar.yaml", tiny(root))


def record(run_dir) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def crash_at(monkeypatch, name: str, call: int, error: Exception, result=None) -> None:
    """``Trainer.<name>`` raises ``error`` (or returns ``result``) at its ``call``-th call."""
    original, calls = getattr(Trainer, name), []

    def crashing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            if result is not None:
                return result
            raise error
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, name, crashing)


def test_a_crash_in_a_step_leaves_the_training_failed_and_resumable(recipe, tmp_path, monkeypatch):
    crash_at(monkeypatch, "train_step", 4, RuntimeError("CUDA error: device-side assert"))
    run_dir = tmp_path / "run"
    with one_thread(), pytest.raises(RuntimeError, match="device-side assert"):
        train("darts_v2", recipe, out=run_dir, device="cpu")
    assert record(run_dir)["status"] == "failed"
    assert record(run_dir)["error"] == "RuntimeError: CUDA error: device-side assert"
    monkeypatch.undo()
    with one_thread():  # the first epoch's checkpoint stays: the resume continues from it
        result = train("darts_v2", recipe, out=run_dir, device="cpu", resume=True)
    assert record(run_dir)["status"] == "complete" and len(result.metrics) == 2


def test_a_non_finite_loss_fails_the_training_with_its_message(recipe, tmp_path, monkeypatch):
    crash_at(monkeypatch, "train_step", 2, None, result=(torch.tensor(float("nan")), 0))
    run_dir = tmp_path / "run"
    with one_thread(), pytest.raises(FactorspaceError) as info:
        train("darts_v2", recipe, out=run_dir, device="cpu")
    assert str(info.value).startswith("non-finite loss (nan) at epoch 1, step 2; no checkpoint")
    assert record(run_dir)["status"] == "failed"
    assert record(run_dir)["error"] == str(info.value)


def test_a_crash_in_a_resumed_training_is_recorded_too(recipe, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    crash_at(monkeypatch, "end_epoch", 2, MemoryError("out of host memory"))
    with one_thread(), pytest.raises(MemoryError):
        train("darts_v2", recipe, out=run_dir, device="cpu")
    assert record(run_dir)["error"] == "MemoryError: out of host memory"
    monkeypatch.undo()
    crash_at(monkeypatch, "end_epoch", 1, ValueError("evaluation broke"))
    with one_thread(), pytest.raises(ValueError):
        train("darts_v2", recipe, out=run_dir, device="cpu", resume=True)
    assert record(run_dir)["status"] == "failed"
    assert record(run_dir)["error"] == "ValueError: evaluation broke"
    assert record(run_dir)["epochs_done"] == 1  # the checkpoint's: the resume can go on
