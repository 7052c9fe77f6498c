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
the same operator for a factorized space (operation kind x kernel size).
"""

from __future__ import annotations

import torch
from torch import nn

from factorspace.ops.kernels import BatchNorm2d
from factorspace.registry import register_operator

NB201_KERNELS = (1, 3)  # the benchmark's convolutions: 1x1 and 3x3


def nor_conv(c_in: int, c_out: int, kernel_size: int, stride: int, affine: bool) -> nn.Sequential:
    """ReLU -> conv (padding ``k // 2``, bias when not ``affine``) -> BatchNorm (xautodl's
    ``ReLUConvBN``)."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, kernel_size, stride, kernel_size // 2, bias=not affine),
        BatchNorm2d(c_out, affine=affine),
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
