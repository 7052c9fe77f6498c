"""factorspace's CPU kernels compute exactly what torch's layers compute, forward and backward."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from factorspace.ops import kernels
from factorspace.ops.kernels import BatchNorm2d, DepthwiseConv2d, batch_norm, depthwise_conv2d

CHANNELS_LAST = [True, False]


@pytest.fixture(autouse=True)
def fast_paths_at_any_size(monkeypatch):
    """The tests' tensors are tiny; take the fast paths anyway (they are size-gated for speed)."""
    monkeypatch.setattr(kernels, "BATCH_NORM_MIN_ELEMENTS", 0)
    monkeypatch.setattr(kernels, "DEPTHWISE_MIN_ELEMENTS", 0)


def _input(shape, channels_last: bool, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.requires_grad_()


def _grads(out: torch.Tensor, tensors: list[torch.Tensor], seed: int = 1):
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    return torch.autograd.grad(out, tensors, g)


@pytest.mark.parametrize("channels_last", CHANNELS_LAST)
@pytest.mark.parametrize("size", [8, 9])  # odd sizes exercise the stride-2 crop and slicing
@pytest.mark.parametrize(
    "kernel,stride,dilation",
    [(k, s, d) for k in (3, 5) for s in (1, 2) for d in (1, 2)] + [(7, 1, 1), (7, 2, 1)],
)
def test_depthwise_conv_matches_torch(kernel, stride, dilation, size, channels_last):
    c = 6
    padding = dilation * (kernel - 1) // 2  # DARTS's "same" padding
    x = _input((3, c, size, size), channels_last)
    w = torch.randn(c, 1, kernel, kernel, requires_grad=True)
    want = F.conv2d(x, w, None, stride, padding, dilation, c)
    got = depthwise_conv2d(x, w, stride, padding, dilation)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want)
    for a, b in zip(_grads(got, [x, w]), _grads(want, [x, w]), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_depthwise_conv_skips_weight_gradient_of_a_frozen_weight():
    x = _input((2, 4, 8, 8), True)
    w = torch.randn(4, 1, 5, 5)  # requires no gradient
    (gx,) = _grads(depthwise_conv2d(x, w, 1, 4, 2), [x])
    (want,) = _grads(F.conv2d(x, w, None, 1, 4, 2, 4), [x])
    torch.testing.assert_close(gx, want, rtol=1e-4, atol=1e-4)


def test_depthwise_module_has_conv2d_parameters_and_state_dict():
    ours, theirs = DepthwiseConv2d(8, 5, 2, 4, 2), nn.Conv2d(8, 8, 5, 2, 4, 2, groups=8, bias=False)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 8, 10, 10)
    torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("channels_last", CHANNELS_LAST)
@pytest.mark.parametrize("channels", [5, 24])  # both ways of summing x * g (<= 16 and above)
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_training_matches_torch(channels, affine, channels_last):
    ours, theirs = BatchNorm2d(channels, affine=affine), nn.BatchNorm2d(channels, affine=affine)
    if affine:  # non-trivial affine parameters
        with torch.no_grad():
            for m in (ours, theirs):
                m.weight.copy_(torch.linspace(0.5, 2.0, channels))
                m.bias.copy_(torch.linspace(-1.0, 1.0, channels))
    x = _input((4, channels, 6, 7), channels_last)
    x = (3 * x + 1).detach().requires_grad_()  # a mean and variance far from 0 and 1
    got, want = ours(x), theirs(x)
    torch.testing.assert_close(got, want)
    params = [x, ours.weight, ours.bias] if affine else [x]
    ref = [x, theirs.weight, theirs.bias] if affine else [x]
    for a, b in zip(_grads(got, params), _grads(want, ref), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(ours, name), getattr(theirs, name))
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x))


def test_batchnorm_with_a_weight_tensor_matches_torch():
    """The search supernet weights each operator inside its BN: weight = the edge's coefficient."""
    x = _input((4, 8, 5, 5), True)
    coef = torch.tensor(0.3, requires_grad=True)
    stats = [torch.zeros(8), torch.ones(8)]
    got = batch_norm(x, *stats, coef.expand(8).contiguous(), None, True, 0.1, 1e-5)
    want = coef * F.batch_norm(x, torch.zeros(8), torch.ones(8), None, None, True, 0.1, 1e-5)
    torch.testing.assert_close(got, want)
    for a, b in zip(_grads(got, [x, coef]), _grads(want, [x, coef]), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(stats[0], x.detach().mean((0, 2, 3)) * 0.1)


def test_the_flop_counter_sees_torch_own_operations():
    """bench counts the standard computation's work, not the fast kernels' matrix products."""
    x = _input((4, 8, 6, 6), True)
    w = torch.randn(8, 1, 5, 5, requires_grad=True)
    layers = [lambda t: depthwise_conv2d(t, w, 1, 4, 2), BatchNorm2d(8)]
    reference = [lambda t: F.conv2d(t, w, None, 1, 4, 2, 8), nn.BatchNorm2d(8)]
    counts = []
    for stack in (layers, reference):
        with FlopCounterMode(display=False) as counter:
            stack[1](stack[0](x)).sum().backward()
        counts.append(counter.get_total_flops())
    assert counts[0] == counts[1] > 0


def test_small_tensors_take_torch_own_layers(monkeypatch):
    monkeypatch.setattr(kernels, "BATCH_NORM_MIN_ELEMENTS", 10**6)
    monkeypatch.setattr(kernels, "DEPTHWISE_MIN_ELEMENTS", 10**6)
    x = _input((2, 4, 8, 8), True)
    w = torch.randn(4, 1, 5, 5, requires_grad=True)
    assert "Convolution" in depthwise_conv2d(x, w, 1, 4, 2).grad_fn.name()
    assert "NativeBatchNorm" in BatchNorm2d(4)(x).grad_fn.name()


def test_large_tensors_take_the_fast_paths():
    x = _input((2, 4, 8, 8), True)
    w = torch.randn(4, 1, 5, 5, requires_grad=True)
    assert depthwise_conv2d(x, w, 1, 4, 2).grad_fn.name() == "_DepthwiseConvBackward"
    assert BatchNorm2d(4)(x).grad_fn.name() == "_ChannelsLastBatchNormBackward"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_takes_torchs_own_kernels(monkeypatch, dtype):
    """Under CPU autocast the fast backwards (written for one dtype) stand aside: a depthwise
    conv above the size threshold trains in mixed precision and gives torch's gradients."""
    monkeypatch.setattr(kernels, "DEPTHWISE_MIN_ELEMENTS", 0)
    torch.manual_seed(0)
    conv = kernels.DepthwiseConv2d(4, 5, stride=1, padding=2)
    reference = nn.Conv2d(4, 4, 5, padding=2, groups=4, bias=False)
    reference.load_state_dict(conv.state_dict())
    x = torch.randn(2, 4, 8, 8)
    grads = []
    for module in (conv, reference):
        module.zero_grad()
        with torch.autocast("cpu", dtype=dtype):
            module(x).float().square().sum().backward()
        grads.append(module.weight.grad)
    assert torch.equal(grads[0], grads[1])
