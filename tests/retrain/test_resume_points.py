"""Every interrupted re-training can be finished (issue 26): stopped in the final test pass (with
and without ``train.max_steps``), or killed after the last epoch's checkpoint, a resume ends with
the uninterrupted run's weights and results."""

from __future__ import annotations

import importlib
import json
import signal
from pathlib import Path

import pytest
import torch

from factorspace.retrain import load_train_recipe, train
from factorspace.retrain.train import Trainer
from factorspace.search import Interrupted
from tests.retrain.test_train import mini_imagefolder
from tests.search.tiny import one_thread

train_module = importlib.import_module("factorspace.retrain.train")  # not the function
TINY_TRAIN = Path(__file__).resolve().parents[1] / "study" / "tiny_train.yaml"
SETTINGS = {  # tiny_train: 1 epoch, stopped by max_steps=2; or 2 whole epochs of 7 steps
    "max_steps": (),
    "epochs": ("train.max_steps=null", "train.epochs=2"),
}


def recipe_of(setting: str, data: Path):
    """tiny_train on 100 train and 50 test images (the bundled test split takes seconds)."""
    data_set = ("data.dataset=imagefolder", f"data.root={data}", "data.subset_per_class=null")
    return load_train_recipe(TINY_TRAIN, [*SETTINGS[setting], *data_set])


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return mini_imagefolder(tmp_path_factory.mktemp("mini"))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data) -> dict:
    out = tmp_path_factory.mktemp("uninterrupted")
    return {
        name: train("darts_v2", recipe_of(name, data), out=out / name, device="cpu")
        for name in SETTINGS
    }


def without_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in rows]


def assert_same_run(resumed, full) -> None:
    for (name, x), (_, y) in zip(
        resumed.model.state_dict().items(), full.model.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(x.float(), y.float(), atol=1e-6, rtol=0, msg=name)
    assert without_times(resumed.metrics) == without_times(full.metrics)
    record = json.loads((resumed.run_dir / "run.json").read_text())
    assert record["status"] == "complete" and record["test_acc"] == full.test_acc


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_stopped_in_the_final_test_pass(uninterrupted, data, setting, tmp_path, monkeypatch):
    recipe = recipe_of(setting, data)
    original, epochs = train_module.evaluate, recipe.train.epochs

    def evaluate_with_ctrl_c(model, loader, device, **kw):
        if len(list(tmp_path.glob("run/metrics.jsonl"))) == (epochs > 1):  # the last epoch
            signal.raise_signal(signal.SIGINT)  # the test pass stops after its first batch
        return original(model, loader, device, **kw)

    monkeypatch.setattr(train_module, "evaluate", evaluate_with_ctrl_c)
    with pytest.raises(Interrupted, match=f"epoch {epochs}"):
        train("darts_v2", recipe, out=tmp_path / "run", device="cpu")
    monkeypatch.undo()
    resumed = train("darts_v2", recipe, out=tmp_path / "run", device="cpu", resume=True)
    assert_same_run(resumed, uninterrupted[setting])


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_killed_after_the_last_checkpoint(uninterrupted, data, setting, tmp_path, monkeypatch):
    recipe = recipe_of(setting, data)
    original = Trainer.set_status

    def killed_before_complete(self, status, **extra):
        if status == "complete":
            raise KeyboardInterrupt  # as a second Ctrl-C, or a kill, right after the save
        original(self, status, **extra)

    monkeypatch.setattr(Trainer, "set_status", killed_before_complete)
    with pytest.raises(KeyboardInterrupt):
        train("darts_v2", recipe, out=tmp_path / "run", device="cpu")
    monkeypatch.undo()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "interrupted"
    resumed = train("darts_v2", recipe, out=tmp_path / "run", device="cpu", resume=True)
    assert_same_run(resumed, uninterrupted[setting])


def test_a_complete_run_resumed_again_stays_complete(uninterrupted, data):
    """``--resume`` at (or past) ``train.max_steps``: nothing left to train, the same result."""
    full = uninterrupted["max_steps"]
    recipe = recipe_of("max_steps", data)
    again = train("darts_v2", recipe, out=full.run_dir, device="cpu", resume=True)
    assert_same_run(again, full)
