"""``supernet.fused_activation``: the factorized supernet computes eq. 2 with the fused mix, with
the loss and every gradient of the autograd formulation to rounding and the same random draws;
off, its edges compute eq. 2 as before."""

from functools import partial
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.compile.edge import FactorizedEdge, mix
from factorspace.ops.fused import fused_mix
from factorspace.schema import SupernetConfig
from tests.conftest import paper_space
from tests.ops.test_hashed_noise import HashedRReLU

QUICKSTART = Path(__file__).resolve().parents[2] / "recipes" / "quickstart.yaml"


def _net(fused: bool, state=None, partial_channels: int = 1, rrelu_noise="torch"):
    torch.manual_seed(0)
    config = SupernetConfig(
        channels=8,
        cells=3,
        classes=10,
        fused_activation=fused,
        partial_channels=partial_channels,
        rrelu_noise=rrelu_noise,
    )
    net = compile_supernet(paper_space(), config, "cpu").to(memory_format=torch.channels_last)
    if state is not None:
        net.load_state_dict(state)
    return net


def _mixing(net) -> set:
    """Each factorized edge's mixing: ``mix``, or ``("fused", hashed)``."""
    found = set()
    for m in net.modules():
        if isinstance(m, FactorizedEdge):
            fn = m.mix
            if isinstance(fn, partial) and fn.func is fused_mix:
                fn = ("fused", fn.keywords["hashed"])
            found.add(fn)
    return found


def _loss_grads_and_draw(net):
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    x = x.contiguous(memory_format=torch.channels_last)
    torch.manual_seed(2)  # rrelu draws its slopes
    loss = F.cross_entropy(net(x), torch.tensor([1, 2, 3, 4]))
    loss.backward()
    grads = {n: p.grad for n, p in net.named_parameters() if p.grad is not None}
    return loss.detach(), grads, torch.rand(3)


def test_the_option_selects_the_mixing_of_every_factorized_edge():
    assert _mixing(_net(False)) == {mix}
    assert _mixing(_net(True)) == {("fused", False)}
    assert _mixing(_net(True, rrelu_noise="hashed")) == {("fused", True)}


def test_default_is_the_fused_mix_with_hashed_rrelu_slopes():  # issue 28: 2026-12-06, -07
    assert SupernetConfig().fused_activation is True
    assert SupernetConfig().rrelu_noise == "hashed"


@pytest.mark.parametrize("partial_channels", [1, 2])  # 2: PC-DARTS mixes a channel slice
def test_fused_supernet_matches_autograd_loss_and_gradients(partial_channels):
    plain = _net(False, partial_channels=partial_channels)
    loss, grads, draw = _loss_grads_and_draw(plain)
    fused = _net(True, plain.state_dict(), partial_channels)
    got_loss, got_grads, got_draw = _loss_grads_and_draw(fused)
    torch.testing.assert_close(got_loss, loss)
    assert torch.equal(got_draw, draw)  # the same random numbers drawn in between
    assert got_grads.keys() == grads.keys()
    arch = {n for n in grads if n.startswith("arch.")}
    assert arch  # the architecture's gradients are among those compared
    for name, grad in grads.items():
        torch.testing.assert_close(got_grads[name], grad, rtol=1e-3, atol=1e-5, msg=name)


@pytest.mark.parametrize("fused", [False, True])
def test_recipe_option_reaches_the_supernet(fused):
    recipe = fs.load_recipe(QUICKSTART, [f"supernet.fused_activation={str(fused).lower()}"])
    assert recipe.supernet.fused_activation is fused
    net = compile_supernet(recipe.space, recipe.supernet.model_copy(update={"cells": 2}))
    assert _mixing(net) == {("fused", True) if fused else mix}
    torch_noise = fs.load_recipe(QUICKSTART, ["supernet.rrelu_noise=torch"]).supernet
    net = compile_supernet(recipe.space, torch_noise.model_copy(update={"cells": 2}))
    assert _mixing(net) == {("fused", False)}


@pytest.mark.parametrize("partial_channels", [1, 2])
def test_hashed_supernet_computes_the_hashed_rrelu_by_autograd(partial_channels):
    """The fused, hashed supernet against the autograd one whose RReLU modules compute the
    hashed slopes as written out (tests/ops/test_hashed_noise.py): the loss, every gradient
    and the random numbers drawn in between (one seed per RReLU call)."""
    plain = _net(False, partial_channels=partial_channels)
    for edge in (m for m in plain.modules() if isinstance(m, FactorizedEdge)):
        for key, module in edge.transforms.items():
            if type(module) is nn.RReLU:
                edge.transforms[key] = HashedRReLU(module.lower, module.upper)
    loss, grads, draw = _loss_grads_and_draw(plain)
    hashed = _net(True, plain.state_dict(), partial_channels, rrelu_noise="hashed")
    got_loss, got_grads, got_draw = _loss_grads_and_draw(hashed)
    torch.testing.assert_close(got_loss, loss)
    assert torch.equal(got_draw, draw)
    assert got_grads.keys() == grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(got_grads[name], grad, rtol=1e-3, atol=1e-5, msg=name)
