"""``search.step_order: arch_first`` (DARTS's order) through the loop's other paths: a resume
mid-epoch ends where an uninterrupted run ends, and a non-finite batch is skipped."""

from __future__ import annotations

import signal

import pytest

from factorspace.run.checkpoint import load_checkpoint
from factorspace.run.rundir import RunDir
from factorspace.search import Interrupted, optim, search
from tests.plugins import faulty
from tests.search.test_faults import FAULTY, assert_finite, poison
from tests.search.tiny import assert_same_alphas, final_alphas, one_thread, tiny_recipe

ARCH_FIRST = ["search.step_order=arch_first", "search.order=second", "search.epochs=1"]


def test_arch_first_resumes_mid_epoch_where_it_would_have_been(tmp_path, monkeypatch):
    recipe = tiny_recipe(*ARCH_FIRST)
    with one_thread():
        reference = search(recipe, out=tmp_path / "reference", device="cpu")
    original, calls = optim.weight_step, []

    def weight_step_with_ctrl_c(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # after the third iteration's architecture step
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(optim, "weight_step", weight_step_with_ctrl_c)
    run_dir = tmp_path / "run"
    with one_thread(), pytest.raises(Interrupted, match=r"epoch 1, step 3; checkpoint written"):
        search(recipe, out=run_dir, device="cpu")
    monkeypatch.undo()
    with one_thread():
        resumed = search(recipe, out=run_dir, device="cpu", resume=True)
    assert_same_alphas(final_alphas(run_dir), final_alphas(reference.run_dir))
    assert (resumed.genotype.normal, resumed.genotype.reduce) == (
        reference.genotype.normal,
        reference.genotype.reduce,
    )


def test_arch_first_skips_non_finite_batches_and_counts_them(tmp_path, monkeypatch):
    poison(monkeypatch, "weight_step", "output", at={2})
    poison(monkeypatch, "arch_steps", "gradient", at={4})
    recipe = tiny_recipe(*FAULTY, "search.step_order=arch_first", "search.on_nonfinite=skip")
    with one_thread():
        result = search(recipe, out=tmp_path / "run", device="cpu")
    assert result.status == "complete"
    assert [row["skipped_batches"] for row in result.metrics] == [2]
    assert_finite(load_checkpoint(RunDir(result.run_dir).checkpoint)["model"].values())
    assert faulty.POISON is None


def test_arch_first_warm_up_trains_the_weights_only(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(optim, "arch_steps", lambda *a, **k: calls.append(1))
    recipe = tiny_recipe("search.step_order=arch_first", "search.warmup_epochs=2")
    with one_thread():
        result = search(recipe, out=tmp_path / "run", device="cpu")
    assert calls == [] and [r["epoch"] for r in result.metrics] == [1, 2]
