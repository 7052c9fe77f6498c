"""Non-finite losses, gradients and architecture parameters: caught at their step, named, and
either stopping the run (the last good checkpoint kept) or skipped and counted."""

from __future__ import annotations

import json
import math

import pytest
import torch

import factorspace as fs
from factorspace.errors import FactorspaceError
from factorspace.run.checkpoint import load_checkpoint
from factorspace.run.rundir import RunDir
from factorspace.search import optim, search
from tests.conftest import ROOT
from tests.plugins import faulty
from tests.search.tiny import one_thread, tiny_recipe

FAULTY = [
    "imports=[tests.plugins.faulty]",
    "space.factors.0.choices=[none, skip_connect, test_faulty]",
    "search.epochs=1",
    "search.checkpoint_every_steps=1",
]


def poison(monkeypatch, step_function: str, kind: str, at: set[int]) -> None:
    """Make ``optim.<step_function>`` run with ``faulty.POISON = kind`` on the calls in ``at``."""
    original, calls = getattr(optim, step_function), []

    def poisoned(*args, **kwargs):
        calls.append(1)
        monkeypatch.setattr(faulty, "POISON", kind if len(calls) in at else None)
        try:
            return original(*args, **kwargs)
        finally:
            monkeypatch.setattr(faulty, "POISON", None)

    monkeypatch.setattr(optim, step_function, poisoned)


def run_json(run_dir) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def assert_finite(tensors) -> None:
    for t in tensors:
        assert torch.isfinite(t).all()


def test_nan_loss_stops_naming_step_epoch_and_group(tmp_path, monkeypatch):
    poison(monkeypatch, "weight_step", "output", at={3})
    run_dir = tmp_path / "run"
    with one_thread(), pytest.raises(fs.FactorspaceError) as info:
        search(tiny_recipe(*FAULTY), out=run_dir, device="cpu")
    message = str(info.value)
    assert "non-finite loss (network output) in parameter group 'weights'" in message
    assert "at epoch 1, step 3 of " in message and "on_nonfinite=skip" in message
    record = run_json(run_dir)
    assert record["status"] == "failed" and record["error"] == message
    state = load_checkpoint(RunDir(run_dir).checkpoint)
    assert state["step"] == 2  # the last good one, untouched by the bad step
    assert_finite(state["model"].values())
    assert not (run_dir / "genotype.json").exists()


def test_nan_gradient_of_an_architecture_group_is_caught_before_its_step(tmp_path, monkeypatch):
    poison(monkeypatch, "arch_steps", "gradient", at={2})
    with one_thread(), pytest.raises(fs.FactorspaceError) as info:
        search(tiny_recipe(*FAULTY), out=tmp_path / "run", device="cpu")
    assert "non-finite gradient in parameter group 'op' at epoch 1, step 2 of " in str(info.value)


def test_nan_gradient_of_the_weights_is_caught_before_their_step(tmp_path, monkeypatch):
    poison(monkeypatch, "weight_step", "gradient", at={4})
    with one_thread(), pytest.raises(fs.FactorspaceError) as info:
        search(tiny_recipe(*FAULTY), out=tmp_path / "run", device="cpu")
    assert "non-finite gradient in parameter group 'weights' at epoch 1, step 4 of " in str(
        info.value
    )


def break_arch_parameter(monkeypatch, at: set[int]) -> None:
    """Make the Adam steps (one per architecture group and search step) in ``at`` leave an inf
    in their first parameter, as an overflowing update would."""
    original, calls = torch.optim.Adam.step, []

    def step(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls.append(1)
        if len(calls) in at:
            with torch.no_grad():
                self.param_groups[0]["params"][0].view(-1)[0] = float("inf")
        return result

    monkeypatch.setattr(torch.optim.Adam, "step", step)


def test_an_architecture_parameter_made_infinite_is_caught(tmp_path, monkeypatch):
    break_arch_parameter(monkeypatch, at={4})  # step 2's second group (op, then activation)
    with one_thread(), pytest.raises(fs.FactorspaceError) as info:
        search(tiny_recipe(*FAULTY), out=tmp_path / "run", device="cpu")
    assert "non-finite parameter in parameter group 'activation' at epoch 1, step 2 of " in str(
        info.value
    )


def test_skip_drops_bad_batches_counts_them_and_keeps_the_state_finite(tmp_path, monkeypatch):
    poison(monkeypatch, "weight_step", "output", at={2, 5})
    poison(monkeypatch, "arch_steps", "gradient", at={7})
    break_arch_parameter(monkeypatch, at={11})  # step 8, group op: restored, then skipped
    recipe = tiny_recipe(*FAULTY, "search.on_nonfinite=skip")
    with one_thread():
        result = search(recipe, out=tmp_path / "run", device="cpu")
    assert result.status == "complete"
    assert [row["skipped_batches"] for row in result.metrics] == [4]
    csv_header = (result.run_dir / "metrics.csv").read_text().splitlines()[0]
    assert "skipped_batches" in csv_header.split(",")
    state = load_checkpoint(RunDir(result.run_dir).checkpoint)
    assert_finite(state["model"].values())  # weights, alphas and BatchNorm statistics


@pytest.mark.parametrize(
    ("overrides", "refused"),
    [
        ([], False),
        (["search.relaxation.kind=dirichlet"], False),
        (["search.relaxation_overrides.activation.kind=gumbel"], True),
    ],
)
def test_sampled_paths_are_refused_under_torchrun_only(overrides, refused):
    from factorspace.compile import compile_supernet
    from factorspace.run.distributed import SINGLE, DistributedContext
    from factorspace.search.faults import check_single_path_allowed

    recipe = fs.load_recipe(ROOT / "recipes" / "quickstart.yaml", overrides)
    net = compile_supernet(recipe.space, recipe.supernet, "cpu", recipe.search)
    check_single_path_allowed(net, SINGLE)  # one process: anything goes
    two = DistributedContext(rank=0, world_size=2)
    if not refused:
        check_single_path_allowed(net, two)
        return
    with pytest.raises(FactorspaceError) as e:
        check_single_path_allowed(net, two)
    assert str(e.value).startswith(
        "search.relaxation: gumbel (group 'activation') computes one sampled path per edge, "
        "which is not supported under torchrun yet"
    )


@pytest.mark.parametrize("order", ["weights_first", "arch_first"])
def test_skip_of_an_epochs_first_batch(tmp_path, monkeypatch, order):
    poison(monkeypatch, "weight_step", "output", at={1})  # nothing counted yet in the epoch
    recipe = tiny_recipe(*FAULTY, "search.on_nonfinite=skip", f"search.step_order={order}")
    with one_thread():
        result = search(recipe, out=tmp_path / "run", device="cpu")
    assert result.status == "complete" and run_json(result.run_dir)["status"] == "complete"
    assert [row["skipped_batches"] for row in result.metrics] == [1]
    assert math.isfinite(result.metrics[0]["train_loss"])  # the other batches' mean


def break_weights(monkeypatch, at: set[int]) -> None:
    """Make the SGD steps of the weights in ``at`` leave an inf in a weight, as a learning rate
    that blew up would."""
    original, calls = torch.optim.SGD.step, []

    def step(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls.append(1)
        if len(calls) in at:
            weight = self.param_groups[0]["params"][0]
            with torch.no_grad():
                weight[(0,) * weight.dim()] = float("inf")
        return result

    monkeypatch.setattr(torch.optim.SGD, "step", step)


@pytest.mark.parametrize("order", ["weights_first", "arch_first"])
def test_weights_made_infinite_by_their_step_are_named_not_an_architecture_group(
    tmp_path, monkeypatch, order
):
    break_weights(monkeypatch, at={3})
    run_dir = tmp_path / "run"
    with one_thread(), pytest.raises(fs.FactorspaceError) as info:
        search(tiny_recipe(*FAULTY, f"search.step_order={order}"), out=run_dir, device="cpu")
    checkpoint = RunDir(run_dir).checkpoint
    assert str(info.value) == (
        "non-finite parameter (after its step) in parameter group 'weights' at epoch 1, step 3 "
        f"of 10; the run stops and the last good checkpoint stays: {checkpoint} (the weights' "
        "step was too large: lower search.weights.lr or search.weights.grad_clip)"
    )
    assert load_checkpoint(checkpoint)["step"] == 2  # it exists, and is the last good one
    assert run_json(run_dir)["status"] == "failed"


@pytest.mark.parametrize(("order", "step"), [("weights_first", 1), ("arch_first", 2)])
def test_a_weight_learning_rate_blow_up_names_the_weights(tmp_path, order, step):
    """A real blow-up (no poisoning): the weights grow so large that the architecture step's
    output overflows, which used to be reported as a non-finite gradient of 'op'."""
    run_dir = tmp_path / "run"
    recipe = tiny_recipe(
        "search.epochs=1", "search.weights.grad_clip=null", f"search.step_order={order}"
    )
    # validate refuses an lr above 10 (schema.search.MAX_SGD_LR): the blow-up is set past it
    weights = recipe.search.weights.model_copy(update={"lr": 1e30})
    recipe = recipe.model_copy(
        update={"search": recipe.search.model_copy(update={"weights": weights})}
    )
    with one_thread(), pytest.raises(fs.FactorspaceError) as info:
        search(recipe, out=run_dir, device="cpu")
    checkpoint = RunDir(run_dir).checkpoint
    assert str(info.value) == (
        "non-finite network output of the architecture step in parameter group 'weights' at "
        f"epoch 1, step {step} of 10; the run stops and no checkpoint was written yet "
        f"({checkpoint} does not exist), so factorspace search --resume {run_dir} starts the run "
        "again from the beginning "
        "(lower search.weights.lr, or set search.on_nonfinite=skip to skip such batches)"
    )
    assert not checkpoint.exists()


def test_skip_cannot_skip_weights_made_infinite_by_their_step(tmp_path, monkeypatch):
    break_weights(monkeypatch, at={3})
    with one_thread(), pytest.raises(fs.FactorspaceError) as info:
        search(tiny_recipe(*FAULTY, "search.on_nonfinite=skip"), out=tmp_path / "r", device="cpu")
    assert "in parameter group 'weights' at epoch 1, step 3 of 10" in str(info.value)
    assert str(info.value).endswith("(such a batch cannot be skipped))")


def test_any_crash_in_the_loop_leaves_the_run_failed_with_its_reason(tmp_path, monkeypatch):
    original, calls = optim.weight_step, []

    def crashing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("CUDA error: an illegal memory access")
        return original(*args, **kwargs)

    monkeypatch.setattr(optim, "weight_step", crashing)
    run_dir = tmp_path / "run"
    with one_thread(), pytest.raises(RuntimeError, match="illegal memory access"):
        search(tiny_recipe(*FAULTY), out=run_dir, device="cpu")
    record = run_json(run_dir)
    assert record["status"] == "failed"
    assert record["error"] == "RuntimeError: CUDA error: an illegal memory access"
    monkeypatch.undo()
    with one_thread():  # the lock went with the failed run: it resumes from its checkpoint
        result = search(tiny_recipe(*FAULTY), out=run_dir, device="cpu", resume=True)
    assert result.status == "complete" and run_json(run_dir)["status"] == "complete"


def test_a_crash_after_the_loop_leaves_the_run_failed(tmp_path, monkeypatch):
    from factorspace.search import loop

    def crashing(*args, **kwargs):
        raise ValueError("no genotype")

    monkeypatch.setattr(loop, "save_genotype", crashing)
    run_dir = tmp_path / "run"
    with one_thread(), pytest.raises(ValueError):
        search(tiny_recipe(*FAULTY), out=run_dir, device="cpu")
    assert run_json(run_dir)["status"] == "failed"
    assert run_json(run_dir)["error"] == "ValueError: no genotype"
