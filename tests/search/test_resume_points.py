"""Every interrupted search can be finished (issue 26): stopped in the last epoch's validation pass,
or killed after the last epoch's checkpoint, a resume ends where an uninterrupted search ends."""

from __future__ import annotations

import json
import signal
import warnings

import pytest

from factorspace.genotype import load_genotype
from factorspace.search import Interrupted, search
from factorspace.search.loop import Search
from tests.search.tiny import assert_same_alphas, final_alphas, one_thread, tiny_recipe

pytestmark = pytest.mark.slow  # three tiny searches: about 10 s

ONE_EPOCH = ("search.epochs=1", "search.checkpoint_every_steps=null")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    search(tiny_recipe(*ONE_EPOCH), out=run_dir, device="cpu")
    return run_dir


def rows(run_dir) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "images_per_s"} for line in lines]


def assert_matches(run_dir, reference) -> None:
    assert_same_alphas(final_alphas(run_dir), final_alphas(reference))
    got, want = load_genotype(run_dir / "genotype.json"), load_genotype(reference / "genotype.json")
    assert (got.normal, got.reduce) == (want.normal, want.reduce)
    assert rows(run_dir) == rows(reference)
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"


def test_stopped_in_the_last_validation_pass(reference, tmp_path, monkeypatch):
    original = Search.evaluate

    def evaluate_with_ctrl_c(self):
        signal.raise_signal(signal.SIGINT)  # stops after the pass's first batch
        return original(self)

    monkeypatch.setattr(Search, "evaluate", evaluate_with_ctrl_c)
    with pytest.raises(Interrupted, match="epoch 1, step 10"):
        search(tiny_recipe(*ONE_EPOCH), out=tmp_path / "run", device="cpu")
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw Python warning for the user (torch's scheduler)
        search(tiny_recipe(*ONE_EPOCH), out=tmp_path / "run", device="cpu", resume=True)
    assert_matches(tmp_path / "run", reference)


def test_killed_after_the_last_checkpoint(reference, tmp_path, monkeypatch):
    original = Search.set_status

    def killed_before_complete(self, status, **extra):
        if status == "complete":
            raise KeyboardInterrupt  # a second Ctrl-C, or a kill, right after the save
        original(self, status, **extra)

    monkeypatch.setattr(Search, "set_status", killed_before_complete)
    with pytest.raises(KeyboardInterrupt):
        search(tiny_recipe(*ONE_EPOCH), out=tmp_path / "run", device="cpu")
    monkeypatch.undo()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "interrupted"
    search(tiny_recipe(*ONE_EPOCH), out=tmp_path / "run", device="cpu", resume=True)
    assert_matches(tmp_path / "run", reference)
