"""One precision vocabulary for search and train; fp16's loss scaling; the old key refused."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import factorspace as fs
from factorspace.retrain import load_train_recipe
from factorspace.run.precision import autocast, backward_and_step, grad_scaler
from tests.conftest import ROOT

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("precision", "dtype"), [("bf16", torch.bfloat16), ("fp16", torch.float16)]
)
def test_autocast_runs_matrix_products_in_the_precision(precision, dtype):
    with autocast(CPU, precision):
        out = torch.ones(2, 3) @ torch.ones(3, 4)
    assert out.dtype == dtype


def test_fp32_does_not_autocast():
    with autocast(CPU, "fp32"):
        assert not torch.is_autocast_enabled("cpu")
        out = torch.ones(2, 3) @ torch.ones(3, 4)
    assert out.dtype == torch.float32


def test_only_fp16_gets_a_grad_scaler():
    assert grad_scaler(CPU, "fp32") is None and grad_scaler(CPU, "bf16") is None
    assert isinstance(grad_scaler(CPU, "fp16"), torch.amp.GradScaler)


def _model_and_loss():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    return model, lambda m: nn.functional.cross_entropy(m(x), y)


def test_backward_and_step_is_backward_clip_step():
    model, loss_of = _model_and_loss()
    reference = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    backward_and_step(loss_of(model), opt, list(model.parameters()), 0.01)
    loss_of(reference).backward()
    nn.utils.clip_grad_norm_(reference.parameters(), 0.01)
    ref_opt.step()
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_a_scaled_step_unscales_before_clipping_and_steps_as_unscaled():
    model, loss_of = _model_and_loss()
    reference = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    backward_and_step(loss_of(model), opt, list(model.parameters()), 0.01, scaler)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    backward_and_step(loss_of(reference), ref_opt, list(reference.parameters()), 0.01)
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p, q)  # a power-of-two scale: equal up to rounding


def test_a_scaled_step_with_infinite_gradients_is_skipped():
    model, _ = _model_and_loss()
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    loss = model(torch.full((1, 4), float("inf"))).sum()
    backward_and_step(loss, opt, list(model.parameters()), None, scaler)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))
    assert scaler.get_scale() < 2.0**10  # the scale backs off


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_search_and_train_share_the_precision_vocabulary(precision):
    search = fs.load_recipe(ROOT / "recipes" / "quickstart.yaml", [f"search.precision={precision}"])
    train = load_train_recipe(None, [f"train.precision={precision}"])
    assert search.search.precision == train.train.precision == precision


def test_an_unknown_precision_is_refused_naming_the_field():
    with pytest.raises(fs.RecipeError, match=r"train.precision: .*'fp32', 'bf16' or 'fp16'"):
        load_train_recipe(None, ["train.precision=fp8"])


def test_the_old_train_amp_key_is_refused_naming_the_new_one():
    with pytest.raises(fs.RecipeError) as e:
        load_train_recipe(None, ["train.amp=true"])
    assert str(e.value) == (
        "(default recipe) (--set train.amp): train.amp: replaced by train.precision "
        "(fp32, bf16 or fp16); `amp: true` was `precision: bf16`"
    )
