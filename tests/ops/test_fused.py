"""The fused mixed activation (eq. 2) computes what autograd computes over the activation modules:
the output and every gradient (input, weights, learned parameters), while keeping for the
backward pass one tensor besides the input instead of one per activation."""

import pytest
import torch
from torch import nn

from factorspace.compile.edge import mix
from factorspace.ops import fused
from factorspace.ops.fused import FusedForm, fused_form, fused_mix, register_fused_form
from factorspace.registry import ACTIVATIONS

NAMES = ACTIVATIONS.names()
SHAPE = (3, 4, 5, 5)


@pytest.fixture(autouse=True)
def several_chunks(monkeypatch):
    """Small chunks, so that the tests' tiny tensors are cut into several (rows of 2 here)."""
    monkeypatch.setattr(fused, "CHUNK_ELEMENTS", 2 * 4 * 5 * 5)


def _modules(names, dtype=torch.float32, channels=4):
    torch.manual_seed(0)
    modules = [ACTIVATIONS.get(n).build(channels).to(dtype) for n in names]
    with torch.no_grad():  # learned parameters away from their initial values
        for p in (p for m in modules for p in m.parameters()):
            p.add_(0.3 * torch.randn_like(p))
    return modules


def _input(dtype=torch.float32, channels_last=False, seed=1):
    x = torch.randn(SHAPE, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.requires_grad_()


def _weights(k, dtype=torch.float32, seed=2):
    logits = torch.randn(k, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    return logits.softmax(0).detach().requires_grad_()


def _output_and_grads(fn, x, w, modules, seed=3):
    """``fn``'s output and the gradients of ``sum(g * out)`` for x, w and every parameter;
    the global seed is set first, so RReLU draws the same slopes in both formulations."""
    params = [p for m in modules for p in m.parameters()]
    torch.manual_seed(seed)
    out = fn(x, w, modules)
    g = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(4))
    return out, torch.autograd.grad(out, [x, w, *params], g)


def _assert_same(fused_result, plain_result, **tolerance):
    (out, grads), (want, want_grads) = fused_result, plain_result
    torch.testing.assert_close(out, want, **tolerance)
    assert len(grads) == len(want_grads)
    for name, a, b in zip(["x", "w", *range(len(grads) - 2)], grads, want_grads, strict=True):
        torch.testing.assert_close(a, b, **tolerance, msg=lambda m, n=name: f"grad {n}: {m}")


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_every_registered_activation_has_a_fused_form_equal_to_autograd(name, channels_last):
    modules = _modules([name])
    assert fused_form(modules[0], _input()) is not None, name
    x, w = _input(channels_last=channels_last), _weights(1)
    _assert_same(_output_and_grads(fused_mix, x, w, modules), _output_and_grads(mix, x, w, modules))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("channels_last", [False, True])
def test_the_nine_activations_mixed_equal_autograd(dtype, channels_last):
    modules = _modules(NAMES, dtype)
    x, w = _input(dtype, channels_last), _weights(len(NAMES), dtype)
    got = _output_and_grads(fused_mix, x, w, modules)
    want = _output_and_grads(mix, x, w, modules)
    tight = {} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}
    _assert_same(got, want, **tight)
    assert got[0].is_contiguous(memory_format=fused.memory_format(x))  # the input's layout


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_fp64(name):
    """Finite differences in x, w and the learned parameters (RReLU's slopes redrawn alike)."""
    modules = _modules([name, "relu", "swish"], torch.float64)
    params = [p for m in modules for p in m.parameters()]
    x, w = _input(torch.float64), _weights(3, torch.float64)

    def fn(x, w, *_params):  # the parameters are the modules' own, perturbed in place
        torch.manual_seed(5)
        return fused_mix(x, w, modules)

    assert torch.autograd.gradcheck(fn, (x, w, *params))


def test_gradcheck_fp32_against_autograd_at_float_tolerance():
    modules = _modules(NAMES)
    x, w = _input(), _weights(len(NAMES))
    got, want = _output_and_grads(fused_mix, x, w, modules), _output_and_grads(mix, x, w, modules)
    _assert_same(got, want, rtol=1e-5, atol=1e-6)


class Cube(nn.Module):
    """A user's activation without a fused form."""

    def forward(self, x):
        return x**3


class FusedCube(Cube):
    """A user's activation declaring its fused form."""

    calls = 0

    def fused_form(self, x):
        FusedCube.calls += 1
        return FusedForm(lambda x: x**3, lambda x, v: 3 * x * x)


def test_user_activations_without_a_fused_form_fall_back_to_autograd():
    modules = [*_modules(["relu", "prelu"]), Cube(), nn.Tanh()]
    x, w = _input(), _weights(4)
    assert fused_form(modules[2], x) is None and fused_form(modules[3], x) is None
    _assert_same(_output_and_grads(fused_mix, x, w, modules), _output_and_grads(mix, x, w, modules))


def test_none_fused_is_exactly_autograd():
    modules = [Cube(), nn.Tanh()]
    x, w = _input(), _weights(2)
    got, want = _output_and_grads(fused_mix, x, w, modules), _output_and_grads(mix, x, w, modules)
    assert torch.equal(got[0], want[0])
    assert all(torch.equal(a, b) for a, b in zip(got[1], want[1], strict=True))


def test_a_user_activation_declaring_a_fused_form_is_fused():
    modules = [FusedCube(), *_modules(["elu"])]
    x, w = _input(), _weights(2)
    before = FusedCube.calls
    got = _output_and_grads(fused_mix, x, w, modules)
    assert FusedCube.calls == before + 1
    _assert_same(got, _output_and_grads(mix, x, w, modules))


def test_a_subclass_of_a_torch_activation_is_not_taken_for_it():
    class Shifted(nn.ReLU):
        def forward(self, x):
            return super().forward(x) + 1

    assert fused_form(Shifted(), _input()) is None


def test_registering_a_second_form_for_a_type_is_refused():
    with pytest.raises(ValueError, match="fused form of ReLU is already registered"):
        register_fused_form(nn.ReLU)(lambda m, x: None)


@pytest.mark.parametrize("hard", [0, 4, 8])
def test_hard_weights_with_zeros(hard):
    """Gumbel-hard weights, ``one_hot + (p - p.detach())``: zero weights, straight-through
    gradients; each activation's weight gradient is still ``sum(g * act(x))``."""
    modules = _modules(NAMES)
    logits = torch.randn(len(NAMES), requires_grad=True)
    x = _input()
    results = []
    for fn in (fused_mix, mix):
        p = logits.softmax(0)
        w = nn.functional.one_hot(torch.tensor(hard), len(NAMES)).float() + (p - p.detach())
        assert (w == 0).sum() == len(NAMES) - 1
        torch.manual_seed(3)
        out = fn(x, w, modules)
        g = torch.randn(out.shape, generator=torch.Generator().manual_seed(4))
        results.append((out, torch.autograd.grad(out, [x, logits], g)))
    _assert_same(*results)


@pytest.mark.parametrize("train", [True, False])
def test_no_grad_and_eval_outputs_equal_autograd(train):
    modules = _modules(NAMES)
    for m in modules:
        m.train(train)
    x, w = _input(), _weights(len(NAMES))
    with torch.no_grad():
        torch.manual_seed(3)
        got = fused_mix(x, w, modules)
        torch.manual_seed(3)
        want = mix(x, w, modules)
    torch.testing.assert_close(got, want)
    if not train:  # RReLU at its mean slope: no random numbers; gradients too
        _assert_same(
            _output_and_grads(fused_mix, x, w, modules), _output_and_grads(mix, x, w, modules)
        )


def test_rrelu_draws_the_random_numbers_autograd_draws():
    """The same slopes, and the generator left where autograd's formulation leaves it."""
    modules = _modules(NAMES)
    x, w = _input(), _weights(len(NAMES))
    after = []
    for fn in (fused_mix, mix):
        torch.manual_seed(7)
        fn(x, w, modules)
        after.append(torch.rand(4))
    assert torch.equal(after[0], after[1])


def _saved_elements(fn, x, w, modules) -> int:
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x, w, modules)
    return total


def test_the_fused_mix_keeps_the_input_and_one_slope_tensor():
    """What the backward pass keeps per edge: x, the slopes and RReLU's random slopes (and the
    weights, parameters), against about two tensors per activation for autograd."""
    modules = _modules(NAMES)
    x, w = _input(), _weights(len(NAMES))
    small = len(NAMES) + sum(p.numel() for m in modules for p in m.parameters())
    assert _saved_elements(fused_mix, x, w, modules) <= 3 * x.numel() + small
    assert _saved_elements(mix, x, w, modules) >= len(NAMES) * x.numel()


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_at_the_kinks_are_torchs(name):
    """At 0 (and ReLU6's 6) torch takes one side's derivative; the fused forms take the same."""
    modules = _modules([name])
    values = torch.tensor([-7.0, -1.0, 0.0, 0.5, 6.0, 7.0])
    x = values.repeat(3 * 4 * 5 * 5 // 6 + 1)[: 3 * 4 * 5 * 5].reshape(SHAPE).requires_grad_()
    w = _weights(1)
    _assert_same(_output_and_grads(fused_mix, x, w, modules), _output_and_grads(mix, x, w, modules))


@pytest.mark.parametrize("channels_last", [False, True])
def test_a_channel_slice_input_as_partial_channels_give_it(channels_last):
    """PC-DARTS mixes ``x[:, :C/K]``: a view dense in no layout."""
    modules = _modules(NAMES, channels=2)
    base = _input(channels_last=channels_last).detach()
    x = base[:, :2].requires_grad_()
    assert not x.is_contiguous() and not x.is_contiguous(memory_format=torch.channels_last)
    w = _weights(len(NAMES))
    _assert_same(_output_and_grads(fused_mix, x, w, modules), _output_and_grads(mix, x, w, modules))
