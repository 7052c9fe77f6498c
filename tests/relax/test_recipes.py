"""Every shipped relaxation on every shipped search recipe, at a tiny size: forward, backward, a
genotype that fits the space; and a factorized space mixing relaxations per factor."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.derive import derive_genotype
from factorspace.genotype import check_genotype
from factorspace.relax import RELAXATIONS
from factorspace.relax.dirichlet import Dirichlet
from factorspace.relax.gumbel import Gumbel
from factorspace.relax.softmax import Softmax
from tests.conftest import RECIPES

from .conftest import tiny_net

SHIPPED = ["softmax", "gumbel", "dirichlet"]


def tiny(recipe_path, kind: str) -> fs.Recipe:
    """The recipe at 2 cells (the second a reduction), 4 channels (2 per partial-channel group)."""
    base = fs.load_recipe(recipe_path)
    if base.supernet.kind == "nb201":  # one cell per stage (the residual blocks reduce)
        sizes = ["supernet.cells_per_stage=1", "supernet.channels=4"]
    else:
        channels = max(4, 2 * base.supernet.partial_channels)
        sizes = [
            "supernet.cells=2",
            "supernet.reduction_cells=[1]",
            f"supernet.channels={channels}",
        ]
    # the whole mapping: a recipe's own relaxation settings (nb201_drnas) are another kind's
    return fs.load_recipe(recipe_path, [*sizes, f"search.relaxation={{kind: {kind}}}"])


@pytest.mark.parametrize("kind", SHIPPED)
@pytest.mark.parametrize("recipe_path", RECIPES, ids=lambda p: p.stem)
def test_relaxation_runs_forward_backward_and_derives_on_every_recipe(recipe_path, kind):
    recipe = tiny(recipe_path, kind)
    torch.manual_seed(0)
    net = compile_supernet(recipe.space, recipe.supernet, "cpu", recipe.search)
    assert {type(r) for r in net.relaxations.values()} == {RELAXATIONS.get(kind)}
    net.set_epoch(0, recipe.search.epochs)
    side = max(8, recipe.supernet.input_divisor)
    x, y = torch.randn(2, recipe.supernet.in_channels, side, side), torch.tensor([0, 1])
    logits = net(x)
    assert logits.shape == (2, recipe.supernet.classes)
    loss = F.cross_entropy(logits, y)
    extra = net.relaxation_loss()
    (loss if extra is None else loss + extra).backward()
    for group, params in net.arch_parameters().items():
        for p in params:
            assert p.grad is not None and torch.isfinite(p.grad).all(), group
            assert p.grad.abs().sum() > 0, group
    genotype = derive_genotype(net, name=recipe.name)
    check_genotype(genotype, recipe.space)


def test_a_factorized_space_mixes_softmax_operators_with_gumbel_activations(batch):
    net = tiny_net({"kind": "softmax"}, {"activation": {"kind": "gumbel"}})
    assert isinstance(net.relaxations["op"], Softmax)
    assert isinstance(net.relaxations["activation"], Gumbel)
    weights = net.forward_weights()["normal"]
    assert weights["op"].chosen is None and weights["activation"].chosen is not None
    F.cross_entropy(net(batch[0]), batch[1]).backward()
    assert all(p.grad is not None for p in net.arch.parameters())
    check_genotype(derive_genotype(net), net.space.config)


def test_overrides_replace_the_default_per_factor():
    net = tiny_net({"kind": "dirichlet"}, {"op": {"kind": "gumbel", "tau_max": 5}})
    assert isinstance(net.relaxations["activation"], Dirichlet)
    assert isinstance(net.relaxations["op"], Gumbel) and net.relaxations["op"].tau == 5
