"""``supernet.rrelu_noise: hashed``: RReLU's training slopes are a hash of one seed per call and
each element's position, so the backward pass recomputes them. The fused mix (eager here; the
compiled kernels in tests/ops/test_fused_kernel.py) computes exactly the module written out
below with autograd, in every layout and on a channel slice, and draws one seed per call."""

import pytest
import torch
from torch import nn

from factorspace.compile.edge import mix
from factorspace.ops import fused
from factorspace.ops.fused import fused_mix
from factorspace.ops.hashed import _hash32, draw_seed, hashed_uniform
from tests.ops.test_fused import (
    NAMES,
    _assert_same,
    _input,
    _modules,
    _output_and_grads,
    _saved_elements,
    _weights,
    several_chunks,  # noqa: F401 (autouse: positions must cross chunks)
)


class HashedRReLU(nn.RReLU):
    """The definition, computed by autograd: a subclass, so the fused mix does not take it for
    ``nn.RReLU`` (forms match exact types) and computes it as written here."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        seed = draw_seed(x)
        u = hashed_uniform(fused.positions(x, fused.layout(x)), seed, x.dtype)
        return torch.where(x > 0, x, x * (self.lower + (self.upper - self.lower) * u))


def hashed_mix(x, w, modules):
    return fused_mix(x, w, modules, hashed=True)


def _reference(modules):
    """``modules`` with each RReLU replaced by :class:`HashedRReLU` (same bounds)."""
    return [HashedRReLU(m.lower, m.upper) if type(m) is nn.RReLU else m for m in modules]


def test_hashed_uniform_is_a_function_of_the_seed_and_the_position():
    index = torch.arange(2**16)
    seed = torch.tensor(1234567890123, dtype=torch.int64)
    u = hashed_uniform(index, seed, torch.float32)
    assert torch.equal(u, hashed_uniform(index, seed, torch.float32))
    assert torch.equal(u[100:200], hashed_uniform(index[100:200], seed, torch.float32))
    assert float(u.min()) >= 0 and float(u.max()) < 1
    assert torch.equal(u * 2**24, (u * 2**24).floor())  # 24 random bits
    assert (u != hashed_uniform(index, seed + 1, torch.float32)).float().mean() > 0.99
    assert (u != hashed_uniform(index, seed + 2**31, torch.float32)).float().mean() > 0.99
    # uniform: mean 1/2 and variance 1/12 within a few standard errors; 16 even bins
    assert abs(float(u.double().mean()) - 0.5) < 0.005
    assert abs(float(u.double().var()) - 1 / 12) < 0.002
    counts = torch.histc(u, bins=16, min=0, max=1)
    assert float((counts / len(u) - 1 / 16).abs().max()) < 0.004


def test_the_32_bit_hash_is_a_bijection():
    """Positions of one call never share a hash value (no two slopes from one draw)."""
    h = _hash32(torch.arange(2**20, dtype=torch.int32) * 7919)
    assert torch.unique(h).numel() == 2**20


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_fused_mix_computes_the_hashed_definition(channels_last):
    modules = _modules(NAMES)
    x, w = _input(channels_last=channels_last), _weights(len(NAMES))
    torch.manual_seed(7)
    got = _output_and_grads(hashed_mix, x, w, modules)
    got_after = torch.rand(4)
    torch.manual_seed(7)
    want = _output_and_grads(mix, x, w, _reference(modules))
    _assert_same(got, want)
    assert torch.equal(got_after, torch.rand(4))  # one seed drawn, as the reference draws


@pytest.mark.parametrize("channels_last", [False, True])
def test_a_channel_slice_hashes_the_positions_the_kernels_see(channels_last):
    """PC-DARTS's ``x[:, :C/K]``: positions in the slice's own layout order (channels
    innermost for a slice of a channels_last tensor), as the compiled kernels number them."""
    modules = _modules(NAMES, channels=2)
    x = _input(channels_last=channels_last).detach()[:, :2].requires_grad_()
    w = _weights(len(NAMES))
    _assert_same(
        _output_and_grads(hashed_mix, x, w, modules),
        _output_and_grads(mix, x, w, _reference(modules)),
    )


def test_the_slopes_differ_between_calls_and_follow_the_global_seed():
    modules = _modules(["rrelu"])
    x = -_input().detach().abs() - 0.1  # every slope drawn
    w = torch.ones(1)
    torch.manual_seed(3)
    first, second = hashed_mix(x, w, modules) / x, hashed_mix(x, w, modules) / x
    torch.manual_seed(3)
    assert torch.equal(hashed_mix(x, w, modules) / x, first)
    assert (first != second).float().mean() > 0.99
    rrelu = modules[0]
    assert float(first.min()) >= rrelu.lower and float(first.max()) < rrelu.upper + 1e-6


def test_eval_uses_the_mean_slope_as_torch():
    modules = [m.eval() for m in _modules(NAMES)]
    x, w = _input(), _weights(len(NAMES))
    _assert_same(
        _output_and_grads(hashed_mix, x, w, modules), _output_and_grads(mix, x, w, modules)
    )


def test_hashed_slopes_are_not_kept_for_the_backward_pass():
    """Against torch's draws, one tensor the size of the input less: the slopes are
    recomputed, not stored."""
    modules = _modules(NAMES)
    x, w = _input(), _weights(len(NAMES))
    kept = _saved_elements(fused_mix, x, w, modules)
    assert _saved_elements(hashed_mix, x, w, modules) <= kept - x.numel() + 1
