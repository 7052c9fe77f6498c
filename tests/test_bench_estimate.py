"""``space --estimate``: the predicted time of a whole run against a real one, at tiny size.

Both are measured in this process's CPU time (one thread), so that other work on a shared
machine does not decide the test; the CLI predicts wall time with the same arithmetic.
"""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

import factorspace as fs
from factorspace.cli import app
from factorspace.estimate import duration, estimate_search, estimate_training
from tests.conftest import ROOT
from tests.search.tiny import one_thread

TINY = ROOT / "tests/search/tiny.yaml"
TRAIN_TINY = [
    "network.channels=4",
    "network.cells=3",
    "network.auxiliary=false",
    "data.dataset=bundled",
    "data.subset_per_class=0.02",
    "data.image_size=16",
    "train.batch_size=16",
    "train.epochs=3",
    "train.max_steps=4",
]


@pytest.mark.slow
@pytest.mark.timing  # the step time of this VM varies by a third between processes
@pytest.mark.parametrize("sets", [["search.epochs=1"], ["search.epochs=2", "search.batch_size=8"]])
def test_search_estimate_is_within_20_percent_of_the_run(sets, tmp_path):
    recipe = fs.load_recipe(TINY, ["data.subset_per_class=0.02", *sets])
    clock = time.process_time  # one thread: other threads' spin-waits would count too
    with one_thread():
        estimate_search(recipe, device="cpu", steps=1, clock=clock)  # imports and oneDNN, warmed
        # a median of 10 steps: a 0.1 s step varies by a third between runs of 5 on this CPU
        cost = estimate_search(recipe, device="cpu", steps=10, clock=clock)
        started = clock()
        result = fs.search(recipe, out=tmp_path / "run", device="cpu")
        actual = clock() - started
    assert cost.total_steps == recipe.search.epochs * cost.steps_per_epoch
    assert len(result.metrics) == recipe.search.epochs
    assert cost.total_s == pytest.approx(actual, rel=0.2)


@pytest.mark.slow
@pytest.mark.parametrize(("eval_batch", "size"), [("null", 16), ("5", 5), ("1000", 1000)])
def test_search_estimate_counts_the_evaluation_batches_of_eval_batch_size(eval_batch, size):
    recipe = fs.load_recipe(TINY, ["search.epochs=1", f"search.eval_batch_size={eval_batch}"])
    # the validation portion of the search's split, in batches of eval_batch_size
    data = fs.data.search_loaders(recipe.data, recipe.search.batch_size, seed=recipe.search.seed)
    with one_thread():
        cost = estimate_search(recipe, device="cpu", steps=1)
    assert cost.eval_batches_per_epoch == -(-len(data.val_indices) // size)


@pytest.mark.slow
def test_training_estimate_counts_max_steps():
    recipe = fs.retrain.load_train_recipe(ROOT / "recipes/train_cifar.yaml", TRAIN_TINY)
    cost = estimate_training(fs.genotype.get_genotype("darts_v2"), recipe, device="cpu", steps=2)
    assert cost.total_steps == 4 and cost.epochs == 1 and cost.kind == "train"
    assert cost.total_s > cost.setup_s + 4 * cost.step_s * 0.99


def test_durations_read_as_a_person_would():
    assert duration(12.34) == "12.3 s"
    assert duration(249) == "4 min 09 s"
    assert duration(3 * 3600 + 5 * 60) == "3 h 05 min"
    assert duration(72 * 3600) == "3.0 days"


@pytest.mark.slow
def test_cli_prints_the_estimate_and_json_holds_it():
    args = ["space", str(TINY), "--estimate", "--device", "cpu", "--steps", "1"]
    args += ["--set", "search.epochs=3", "--set", "data.subset_per_class=0.02"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "search: about" in result.output and "peak memory" in result.output
    result = CliRunner().invoke(app, [*args, "--json"])
    cost = json.loads(result.output)["estimate"]
    assert cost["epochs"] == 3 and cost["total_steps"] == 3 * cost["steps_per_epoch"]


@pytest.mark.slow
def test_cli_estimates_a_train_recipe_s_re_training():
    args = ["space", str(ROOT / "recipes/train_cifar.yaml"), "--estimate", "--device", "cpu"]
    args += ["--steps", "1", "--genotype", "darts_v1"]
    for s in TRAIN_TINY:
        args += ["--set", s]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "re-training darts_v1" in result.output and "re-training: about" in result.output
