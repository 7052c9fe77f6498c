"""``plain_iteration``: the search loop's iteration (what ``bench`` and ``space --estimate``
time) in each ``step_order`` and ``order``."""

from __future__ import annotations

import pytest
import torch

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.search import optim
from factorspace.search.step import passes_per_iteration, plain_iteration
from tests.conftest import ROOT

TINY = ["search.epochs=1", "data.subset_per_class=0.01"]


def _setup(overrides):
    recipe = fs.load_recipe(ROOT / "tests/search/tiny.yaml", TINY + overrides)
    torch.manual_seed(0)
    net = compile_supernet(recipe.space, recipe.supernet, torch.device("cpu"), recipe.search)
    w_opt, _ = optim.weight_optimizer(net, recipe.search)
    return recipe.search, net, w_opt, optim.arch_optimizers(net, recipe.search)


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["search.step_order=arch_first"],
        ["search.order=second"],
        ["search.order=second", "search.step_order=arch_first"],
        ["search.update=simultaneous"],
    ],
)
def test_counts_the_passes_the_iteration_makes(overrides, images):
    cfg, net, w_opt, a_opts = _setup(overrides)
    passes = []
    net.register_forward_hook(lambda *_: passes.append(1))
    batch = (images, torch.tensor([1, 2]))
    loss, _ = plain_iteration(net, w_opt, a_opts, batch, batch, cfg, torch.device("cpu"))
    assert torch.isfinite(loss)
    assert len(passes) == passes_per_iteration(cfg, len(a_opts))
    assert all(p.grad is not None for opt in a_opts.values() for p in opt.param_groups[0]["params"])


def test_pass_counts():
    cfg, *_ = _setup([])
    assert passes_per_iteration(cfg, 2) == 3  # Algorithm 1: weights, then one per factor
    simultaneous = cfg.model_copy(update={"update": "simultaneous"})
    assert passes_per_iteration(simultaneous, 2) == 2
    second = cfg.model_copy(update={"order": "second"})
    assert passes_per_iteration(second, 2) == 7
    assert passes_per_iteration(second.model_copy(update={"step_order": "arch_first"}), 1) == 5
