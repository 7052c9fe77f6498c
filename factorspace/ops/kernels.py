"""Faster CPU paths for the two layers that dominate a DARTS supernet's backward pass.

Both compute exactly what torch computes (the tests compare outputs and gradients); they only
choose cheaper kernels for the same arithmetic. On CUDA, and wherever a case is already fast,
they call torch's own functions.

Measured on the project's 2-core CPU, batch 64 at 16-32 channels (docs/performance.md):

* **Depthwise convolution.** oneDNN's backward is fast for 3x3 undilated kernels but slow for the
  rest of DARTS's menu: dilation 2 (dil_conv: input gradient about 10x slower than a forward
  convolution doing the same work), stride 2 with dilation 2 (reduction dil_conv: 20-60 ms) and
  5x5 kernels (sep_conv_5x5, dil_conv_5x5: weight gradient). Here the input gradient of a
  stride-1 convolution is the forward convolution of the output gradient with the flipped kernel,
  and the weight gradient is one grouped "big-kernel" convolution of the input with the output
  gradient as its kernel, summed over the batch. A stride-2, dilation-2 convolution with DARTS's
  padding equals a stride-1, undilated one on the even pixels, which torch handles well.
* **Training-mode BatchNorm on channels_last inputs.** torch's backward kernel runs about 3x
  slower in channels_last than in the default layout. Here the backward is written as three
  per-channel reductions and one fused ``a * g + b * x + c``, computed with matrix products over
  the (pixels, channels) view that channels_last makes contiguous.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

# torch has no public way to ask whether a dispatch mode (the flop counter, fake tensors) is
# active; this private one is pinned by tests/ops/test_torch_internals.py, which fails on a torch
# that renames it or changes what it returns.
try:
    from torch.utils._python_dispatch import _get_current_dispatch_mode
except ImportError as e:  # a torch that moved it: say what to fix
    raise ImportError(
        f"factorspace.ops.kernels needs torch.utils._python_dispatch._get_current_dispatch_mode, "
        f"which torch {torch.__version__} does not have; run tests/ops/test_torch_internals.py "
        "and replace it in _is_cpu_grad"
    ) from e

# Below these sizes torch's own kernels win: a Python autograd Function costs tens of
# microseconds a call (measured break-even: BatchNorm about 1e5 elements, depthwise about 8e3).
BATCH_NORM_MIN_ELEMENTS = 2**17
DEPTHWISE_MIN_ELEMENTS = 2**13


def _is_cpu_grad(x: torch.Tensor) -> bool:
    """Whether to take a fast path: a CPU tensor, gradients on, no autocast, no dispatch mode.
    Under a mode (torch's flop counter, fake tensors while compiling) torch's own ops run, so
    that what is counted or traced is the standard computation; under autocast (bf16/fp16) too,
    since the fast backwards are written for one dtype."""
    return (
        x.device.type == "cpu"
        and torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
        and _get_current_dispatch_mode() is None
    )


# ---------------------------------------------------------------- depthwise convolution


def depthwise_conv2d(
    x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int, dilation: int
) -> torch.Tensor:
    """``F.conv2d(x, weight, None, stride, padding, dilation, groups=C)`` for a square kernel,
    choosing the fastest exact backward on CPU."""
    k = weight.shape[-1]
    channels = weight.shape[0]  # as nn.Conv2d: a mismatched input is an error
    native = (stride, padding, dilation)
    if not _is_cpu_grad(x) or (k == 3 and dilation == 1):
        return F.conv2d(x, weight, None, *native, channels)
    same = padding == dilation * (k - 1) // 2 and k % 2 == 1
    if stride == 2 and dilation == 2 and same:
        # y[i] = sum_t w[t] x[2i + 2t - (k-1)] = sum_t w[t] x_even[i + t - (k-1)/2]
        return depthwise_conv2d(x[:, :, ::2, ::2], weight, 1, (k - 1) // 2, 1)
    if x.numel() < DEPTHWISE_MIN_ELEMENTS:
        return F.conv2d(x, weight, None, *native, channels)
    return _DepthwiseConv.apply(x, weight, stride, padding, dilation)


class _DepthwiseConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, stride: int, padding: int, dilation: int):
        ctx.save_for_backward(x, weight)
        ctx.conv = (stride, padding, dilation)
        return F.conv2d(x, weight, None, stride, padding, dilation, weight.shape[0])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.conv
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_x = grad_w = None
        if need_x:
            grad_x = _depthwise_input_grad(grad, x, weight, stride, padding, dilation)
        if need_w:
            grad_w = _depthwise_weight_grad(grad, x, weight.shape[-1], stride, padding, dilation)
        return grad_x, grad_w, None, None, None


def _depthwise_input_grad(grad, x, weight, stride, padding, dilation) -> torch.Tensor:
    k = weight.shape[-1]
    back_padding = dilation * (k - 1) - padding
    if stride == 1 and back_padding >= 0:
        # the transpose of a stride-1 convolution is the convolution with the flipped kernel
        flipped = weight.flip(2, 3)
        return F.conv2d(grad, flipped, None, 1, back_padding, dilation, weight.shape[0])
    return torch.ops.aten.convolution_backward(
        grad, x, weight, None, [stride] * 2, [padding] * 2, [dilation] * 2,
        False, [0, 0], weight.shape[0], [True, False, False],
    )[0]  # fmt: skip


def _depthwise_weight_grad(grad, x, k: int, stride, padding, dilation) -> torch.Tensor:
    """dL/dw[c, u, v] = sum_{b,i,j} g[b,c,i,j] * xpad[b, c, s*i + d*u, s*j + d*v]: for each
    (b, c) a correlation of the padded input with g as a dilated (by s) kernel, strided by d."""
    b, c = x.shape[:2]
    ho, wo = grad.shape[-2:]
    rows, cols = (
        stride * (ho - 1) + dilation * (k - 1) + 1,
        stride * (wo - 1) + dilation * (k - 1) + 1,
    )
    xp = F.pad(x, [padding] * 4).contiguous()[:, :, :rows, :cols]
    # a negative crop cannot occur: rows <= H + 2p is what makes the output ho rows tall
    out = F.conv2d(
        xp.reshape(1, b * c, rows, cols),
        grad.contiguous().view(b * c, 1, ho, wo),
        None,
        stride=dilation,
        padding=0,
        dilation=stride,
        groups=b * c,
    )
    return out.view(b, c, k, k).sum(0).unsqueeze(1)


class DepthwiseConv2d(nn.Conv2d):
    """A depthwise ``nn.Conv2d`` (groups = channels, no bias) using :func:`depthwise_conv2d`.
    Same parameters and state_dict keys as the ``nn.Conv2d`` it replaces."""

    def __init__(self, channels: int, kernel_size: int, stride: int, padding: int, dilation=1):
        super().__init__(
            channels, channels, kernel_size, stride, padding, dilation, groups=channels, bias=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return depthwise_conv2d(x, self.weight, self.stride[0], self.padding[0], self.dilation[0])


# ---------------------------------------------------------------- concatenation


def cat_channels(tensors: list[torch.Tensor]) -> torch.Tensor:
    """``torch.cat(tensors, dim=1)`` whose gradients come back channels_last when the inputs are.

    torch's gradient of each piece is a channel slice of the output's gradient: a strided view.
    A cell's node is both concatenated and read by later edges, so autograd adds that view to
    channels_last gradients, an add about 10x slower than between equal layouts (measured on
    this project's CPU). One copy of the concatenation's gradient avoids it.
    """
    if not all(_channels_last(t) for t in tensors) or not torch.is_grad_enabled():
        return torch.cat(tensors, dim=1)
    return _ChannelsLastCat.apply(*tensors)


def _channels_last(x: torch.Tensor) -> bool:
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)


class _ChannelsLastCat(torch.autograd.Function):
    @staticmethod
    def forward(ctx, *tensors):
        ctx.sizes = [t.shape[1] for t in tensors]
        return torch.cat(tensors, dim=1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        grad = grad.contiguous(memory_format=torch.channels_last)
        return tuple(
            g.contiguous(memory_format=torch.channels_last) for g in grad.split(ctx.sizes, dim=1)
        )


# ---------------------------------------------------------------- BatchNorm


def batch_norm(
    x: torch.Tensor,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> torch.Tensor:
    """``F.batch_norm`` with the same arguments; training-mode channels_last CPU inputs take the
    faster backward of :class:`_ChannelsLastBatchNorm`."""
    fast = (
        training
        and x.numel() >= BATCH_NORM_MIN_ELEMENTS
        and _is_cpu_grad(x)
        and _channels_last(x)
        and not x.is_contiguous()  # a 1x1 map is both; torch's own kernel is fine there
    )
    if not fast:
        return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    return _ChannelsLastBatchNorm.apply(x, running_mean, running_var, weight, bias, momentum, eps)


class _ChannelsLastBatchNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, running_mean, running_var, weight, bias, momentum: float, eps: float):
        # native_batch_norm updates the running statistics in place, as F.batch_norm does
        out, mean, invstd = torch.ops.aten.native_batch_norm(
            x, weight, bias, running_mean, running_var, True, momentum, eps
        )
        ctx.save_for_backward(x, weight, mean, invstd)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight, mean, invstd = ctx.saved_tensors
        n, c, h, w = x.shape
        m = n * h * w
        # (pixels, channels) views: contiguous because x is channels_last
        x2 = x.permute(0, 2, 3, 1).reshape(m, c)
        g2 = grad.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1).reshape(m, c)
        ones = x2.new_ones(m)
        sum_g = ones @ g2
        # sum over pixels of x * g per channel; for few channels the (c x c) product's diagonal
        # is cheaper than materialising x * g
        sum_xg = (x2.T @ g2).diagonal() if c <= 16 else ones @ (x2 * g2)
        sum_g_xhat = (sum_xg - mean * sum_g) * invstd  # sum of g * (x - mean) * invstd
        grad_x = None
        if ctx.needs_input_grad[0]:
            # dL/dx = a * (g - sum_g / m - xhat * sum_g_xhat / m) = a * g + b * x + cst
            a = invstd if weight is None else weight * invstd
            k = sum_g_xhat / m
            b = -a * k * invstd
            cst = a * (k * invstd * mean - sum_g / m)
            # one matrix product per term: addmm fuses the multiply-adds over the (m, c) view
            grad2 = torch.addmm(cst, g2, torch.diag(a)).addmm_(x2, torch.diag(b))
            grad_x = grad2.view(n, h, w, c).permute(0, 3, 1, 2)
        grad_w = sum_g_xhat if weight is not None and ctx.needs_input_grad[3] else None
        grad_b = sum_g if ctx.needs_input_grad[4] else None
        return grad_x, None, None, grad_w, grad_b, None, None


def batch_norm_call(bn: nn.BatchNorm2d, x: torch.Tensor, weight, bias) -> torch.Tensor:
    """What ``bn(x)`` computes, with ``weight`` and ``bias`` in place of its affine parameters:
    running statistics, momentum and batch counter as in ``nn.BatchNorm2d.forward``. A
    :class:`BatchNorm2d` may take :func:`batch_norm`'s faster backward; a plain
    ``nn.BatchNorm2d`` (NAS-Bench-201's operators) computes exactly as torch's."""
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:  # a cumulative moving average
            momentum = 1.0 / float(bn.num_batches_tracked)
    track = not bn.training or bn.track_running_stats
    call = F.batch_norm if type(bn) is nn.BatchNorm2d else batch_norm
    return call(
        x,
        bn.running_mean if track else None,
        bn.running_var if track else None,
        weight,
        bias,
        bn.training or bn.running_mean is None,
        momentum,
        bn.eps,
    )


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` using :func:`batch_norm`: same parameters, buffers and state_dict."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        return batch_norm_call(self, x, self.weight, self.bias)


# Each layer here and the torch.nn layer it computes exactly (what a standalone export writes).
TORCH_EQUIVALENT: dict[type, type] = {BatchNorm2d: nn.BatchNorm2d, DepthwiseConv2d: nn.Conv2d}
