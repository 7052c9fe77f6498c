"""What factorspace.ops relies on beyond torch's public API, pinned on tiny tensors so that a torch
which renames or changes it fails here, with a message naming what to fix.

* ``torch.utils._python_dispatch._get_current_dispatch_mode`` (private): ``kernels._is_cpu_grad``
  takes torch's own ops under a dispatch mode (the flop counter of ``bench``, fake tensors).
* ``torch.ops.aten`` operators called directly, with their schemas: ``convolution_backward``
  and ``native_batch_norm`` (kernels), ``rrelu_with_noise`` (the fused RReLU draws its slopes
  with it, as ``F.rrelu`` does).
"""

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from factorspace.ops import kernels


def test_dispatch_mode_query_exists_with_no_arguments():
    from torch.utils import _python_dispatch

    fn = getattr(_python_dispatch, "_get_current_dispatch_mode", None)
    assert callable(fn), (
        f"torch {torch.__version__} has no torch.utils._python_dispatch."
        "_get_current_dispatch_mode: replace it in factorspace/ops/kernels.py:_is_cpu_grad"
    )
    required = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty]
    assert not required, f"_get_current_dispatch_mode now requires {required}"


def test_dispatch_mode_query_sees_the_flop_counter_and_user_modes():
    from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode

    class Passthrough(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    assert _get_current_dispatch_mode() is None, "a mode reported outside any mode"
    with Passthrough() as mode:
        assert _get_current_dispatch_mode() is mode, "the active mode is not reported"
    with FlopCounterMode(display=False):
        assert _get_current_dispatch_mode() is not None, "the flop counter is not seen as a mode"


def test_fast_paths_are_off_under_a_mode_and_flops_are_torchs():
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    assert kernels._is_cpu_grad(x)
    with FlopCounterMode(display=False) as counter:
        assert not kernels._is_cpu_grad(x)
        kernels.depthwise_conv2d(x, torch.randn(4, 1, 5, 5), 1, 4, 2).sum().backward()
    with FlopCounterMode(display=False) as reference:
        F.conv2d(x, torch.randn(4, 1, 5, 5), None, 1, 4, 2, 4).sum().backward()
    assert counter.get_total_flops() == reference.get_total_flops() > 0


@pytest.mark.parametrize(
    "op,schema",
    [
        (
            "convolution_backward",
            "aten::convolution_backward(Tensor grad_output, Tensor input, Tensor weight, "
            "SymInt[]? bias_sizes, SymInt[] stride, SymInt[] padding, SymInt[] dilation, "
            "bool transposed, SymInt[] output_padding, SymInt groups, bool[3] output_mask) "
            "-> (Tensor, Tensor, Tensor)",
        ),
        (
            "native_batch_norm",
            "aten::native_batch_norm(Tensor input, Tensor? weight, Tensor? bias, "
            "Tensor? running_mean, Tensor? running_var, bool training, float momentum, "
            "float eps) -> (Tensor, Tensor, Tensor)",
        ),
    ],
)
def test_aten_operator_schemas(op, schema):
    got = str(getattr(torch.ops.aten, op).default._schema)
    assert got == schema, f"torch changed aten::{op}, called by factorspace/ops/kernels.py: {got}"


def test_rrelu_with_noise_schema_takes_noise_then_bounds_and_training():
    got = str(torch.ops.aten.rrelu_with_noise.default._schema)
    assert got.startswith("aten::rrelu_with_noise(Tensor self, Tensor(b!) noise, Scalar lower"), (
        f"torch changed aten::rrelu_with_noise, called by factorspace/ops/activations.py: {got}"
    )
    assert "bool training" in got


def test_native_batch_norm_returns_output_mean_invstd_and_updates_running_stats():
    x = torch.randn(4, 3, 5, 5)
    mean, var = torch.zeros(3), torch.ones(3)
    out, batch_mean, invstd = torch.ops.aten.native_batch_norm(
        x, None, None, mean, var, True, 0.1, 1e-5
    )
    torch.testing.assert_close(out, F.batch_norm(x, None, None, training=True, eps=1e-5))
    torch.testing.assert_close(batch_mean, x.mean((0, 2, 3)))
    torch.testing.assert_close(invstd, (x.var((0, 2, 3), unbiased=False) + 1e-5).rsqrt())
    torch.testing.assert_close(mean, 0.1 * x.mean((0, 2, 3)))  # updated in place


def test_convolution_backward_returns_the_input_gradient_first():
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    w = torch.randn(3, 1, 3, 3)
    g = torch.randn(2, 3, 3, 3)
    (want,) = torch.autograd.grad(F.conv2d(x, w, None, 2, 2, 2, 3), x, g)
    got = torch.ops.aten.convolution_backward(
        g, x, w, None, [2, 2], [2, 2], [2, 2], False, [0, 0], 3, [True, False, False]
    )[0]
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("channels_last", [False, True])
def test_rrelu_with_noise_fills_the_noise_and_draws_as_f_rrelu(channels_last):
    x = torch.randn(2, 3, 4, 4)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    torch.manual_seed(0)
    want, want_next = F.rrelu(x, 0.1, 0.3, training=True), torch.rand(3)
    torch.manual_seed(0)
    noise = torch.empty_like(x, memory_format=torch.contiguous_format)
    got = torch.ops.aten.rrelu_with_noise(x, noise, 0.1, 0.3, True)
    assert torch.equal(got, want) and torch.equal(torch.rand(3), want_next)
    assert torch.equal(got, x * noise), "the noise is not the slope the output used"
    assert torch.equal(noise[x > 0], torch.ones_like(noise[x > 0]))
