"""NAS-Bench-201's operations (Dong & Yang, ICLR 2020; xautodl's ``cell_operations.py``).

The benchmark's five operations are ``none``, ``skip_connect``, ``nor_conv_1x1``,
``nor_conv_3x3`` and ``avg_pool_3x3``. Three of them are DARTS's and registered in
:mod:`factorspace.ops.primitives` with the same semantics at stride 1 (``Zero``, the identity, a
3x3 average pool with ``count_include_pad=False``); the NB201 search supernet builds them without
the BatchNorm a DARTS search supernet appends to pooling (:mod:`factorspace.compile.nb201`).

``nor_conv_KxK`` is the benchmark's ReLU -> KxK convolution -> BatchNorm, its ReLU inside the
operator (the benchmark's space has no activation factor). As the benchmark's ``ReLUConvBN``, the
convolution has a bias exactly when the BatchNorm has no affine parameters (``bias=not affine``):
in the search supernet (non-affine BatchNorm) it has one, in a fixed network it has none, so that
parameter counts and state match the benchmark's. ``nor_conv`` with a ``kernel_size`` argument is
the same operator for a factorized space (operation kind x kernel size). Its BatchNorm is torch's
own ``nn.BatchNorm2d``, not :class:`factorspace.ops.kernels.BatchNorm2d`: at the benchmark's
sizes torch's channels_last backward is the faster one (batch 64, one thread, CPU time:
16 channels at 32x32 1.4 against 2.7 ms, 32 at 16x16 0.67 against 1.9, 64 at 8x8 0.35 against
1.2; docs/performance.md).

:func:`weighted_box_pool` computes the search cells' weighted ``avg_pool_3x3`` (``w`` times
the pool, stride 1) as a depthwise convolution with a kernel of ones: forward and backward 2x
faster than torch's ``avg_pool2d`` in channels_last on the CPU at 64x16x32x32 (5.4 against
10.6 ms), slower below about 2^17 elements (fixed costs per call), where the supernet keeps
``avg_pool2d`` (:data:`BOX_POOL_MIN_ELEMENTS`).
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from factorspace.registry import register_operator

NB201_KERNELS = (1, 3)  # the benchmark's convolutions: 1x1 and 3x3
# From this many input elements on, weighted_box_pool beats avg_pool2d (forward and backward, one
# thread, channels_last: 1.7 against 2.2 ms at 2^18, 1.18 against 1.09 ms at 2^17)
BOX_POOL_MIN_ELEMENTS = 2**18


def nor_conv(c_in: int, c_out: int, kernel_size: int, stride: int, affine: bool) -> nn.Sequential:
    """ReLU -> conv (padding ``k // 2``, bias when not ``affine``) -> BatchNorm (xautodl's
    ``ReLUConvBN``)."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, kernel_size, stride, kernel_size // 2, bias=not affine),
        nn.BatchNorm2d(c_out, affine=affine),
    )


def nb201_kernel(value: object) -> str | None:
    """Why ``value`` is no kernel size of ``nor_conv`` (an odd integer; the benchmark: 1, 3)."""
    if type(value) is not int or value < 1 or value % 2 == 0:
        return "is not an odd positive integer; the benchmark's kernels are 1 and 3"
    return None


@register_operator(
    "nor_conv_1x1", tags={"parameterized"}, description="ReLU, 1x1 conv, BN (NAS-Bench-201)"
)
def nor_conv_1x1(c: int, stride: int, affine: bool) -> nn.Module:
    return nor_conv(c, c, 1, stride, affine)


@register_operator(
    "nor_conv_3x3", tags={"parameterized"}, description="ReLU, 3x3 conv, BN (NAS-Bench-201)"
)
def nor_conv_3x3(c: int, stride: int, affine: bool) -> nn.Module:
    return nor_conv(c, c, 3, stride, affine)


@register_operator(
    "nor_conv",
    tags={"parameterized"},
    description="ReLU, k x k conv, BN (NAS-Bench-201's nor_conv_KxK; kernel_size an argument)",
    arguments={"kernel_size": nb201_kernel},
)
def nor_conv_k(c: int, stride: int, affine: bool, kernel_size: int = 3) -> nn.Module:
    return nor_conv(c, c, kernel_size, stride, affine)


class ResNetBasicBlock(nn.Module):
    """The benchmark's reduction between stages (not searched): ``conv_b(conv_a(x)) +
    downsample(x)``, each conv a ReLU-conv-BN (3x3, the first with ``stride``), the shortcut a
    2x2 average pool and a 1x1 convolution when the stride is 2 (xautodl's ``ResNetBasicblock``,
    affine BatchNorm with running statistics)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride {stride}: a basic block has stride 1 or 2")
        self.conv_a = nor_conv(c_in, c_out, 3, stride, affine=True)
        self.conv_b = nor_conv(c_out, c_out, 3, 1, affine=True)
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, 1, bias=False),
            )
        elif c_in != c_out:
            self.downsample = nor_conv(c_in, c_out, 1, 1, affine=True)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


# ---------------------------------------------------------------- the weighted 3x3 average pool


def is_box_pool(op: nn.Module) -> bool:
    """Whether ``op`` is the search cells' ``avg_pool_3x3``: a 3x3 average over the pixels inside
    the image (``count_include_pad=False``), stride 1, padding 1."""
    return (
        type(op) is nn.AvgPool2d
        and op.kernel_size in (3, (3, 3))
        and op.stride in (1, (1, 1))
        and op.padding in (1, (1, 1))
        and not op.ceil_mode
        and not op.count_include_pad
        and op.divisor_override is None
    )


def weighted_box_pool(x: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """``w * avg_pool2d(x, 3, 1, 1, count_include_pad=False)`` (``w`` a 0-dim tensor or None),
    equal to rounding. The sum over each 3x3 window is a depthwise convolution with a kernel
    of ones, then one multiply by ``w / count`` (count: the window's pixels inside the image);
    the backward is the same convolution of ``g * w / count`` (the box is its own adjoint at
    stride 1) and, for ``w``, one dot product."""
    n, c, h, width = x.shape
    ones, inv_count = _box_constants(c, h, width, x.dtype, x.device)  # in x's dtype
    if w is None:
        w = torch.ones((), dtype=x.dtype, device=x.device)
    return _BoxPool.apply(x, w, ones, inv_count)


@lru_cache(maxsize=64)
def _box_constants(c: int, h: int, w: int, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The (c, 1, 3, 3) kernel of ones and the (1, 1, h, w) map of 1 / pixels per window."""
    ones = torch.ones(c, 1, 3, 3, dtype=dtype, device=device)
    count = F.avg_pool2d(
        torch.ones(1, 1, h, w, dtype=dtype, device=device),
        3,
        1,
        1,
        count_include_pad=True,
        divisor_override=1,
    )
    return ones, count.reciprocal()


def _box_sum(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    if torch.is_autocast_enabled(x.device.type):  # keep the input's dtype, as avg_pool2d does
        with torch.autocast(x.device.type, enabled=False):
            return F.conv2d(x, kernel.to(x.dtype), padding=1, groups=x.shape[1])
    return F.conv2d(x, kernel, padding=1, groups=x.shape[1])


class _BoxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, ones, inv_count):
        box = _box_sum(x, ones)
        scale = w * inv_count  # x's dtype: a 0-dim w does not promote it
        ctx.save_for_backward(box if ctx.needs_input_grad[1] else None, w, ones, inv_count)
        return box * scale

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        box, w, ones, inv_count = ctx.saved_tensors
        g = grad * inv_count
        grad_w = None
        if ctx.needs_input_grad[1]:
            grad_w = _dot(g, box).to(w.dtype)
        grad_x = _box_sum(g, ones * w) if ctx.needs_input_grad[0] else None
        return grad_x, grad_w, None, None


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(a * b).sum()`` without the product's temporary where both share one dense layout."""
    if a.stride() == b.stride():
        if a.is_contiguous():
            return torch.dot(a.view(-1), b.view(-1))
        if a.is_contiguous(memory_format=torch.channels_last):
            flat = [t.permute(0, 2, 3, 1).reshape(-1) for t in (a, b)]  # views
            return torch.dot(*flat)
    return (a * b).sum()
