"""DARTS's candidate operations (Liu et al. 2019, ``cnn/operations.py``), registered by name.

Decision: each parameterized operator here starts *after* its input activation. In DARTS every
convolution begins with a ReLU; in factorspace that ReLU is the input-role factor (the paper's
sigma in eq. 1), applied once per edge by the compiler. With the activation fixed to ``relu`` the
networks are exactly DARTS's. Activations *inside* an operator stay as DARTS has them: SepConv's
middle ReLU and FactorizedReduce's leading ReLU are part of the operator, not of the space.
"""

from __future__ import annotations

import torch
from torch import nn

from factorspace.ops.kernels import BatchNorm2d, DepthwiseConv2d
from factorspace.registry import register_operator


class Zero(nn.Module):
    """The ``none`` operation: a zero tensor of the output's shape (DARTS's ``Zero``)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1x1 convolutions (DARTS)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even channel count, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        # Odd sizes: the shifted branch is one pixel smaller; pad it back (DARTS assumes even sizes).
        a, b = self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])
        if b.shape[-1] != a.shape[-1] or b.shape[-2] != a.shape[-2]:
            b = nn.functional.pad(b, (0, a.shape[-1] - b.shape[-1], 0, a.shape[-2] - b.shape[-2]))
        return self.bn(torch.cat([a, b], dim=1))


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution, BatchNorm: DARTS's cell-input preprocessing."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        affine: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False),
            BatchNorm2d(c_out, affine=affine),
        )


def conv_bn(channels: int, kernel_size: int, stride: int, affine: bool) -> nn.Sequential:
    """A plain k x k convolution and BatchNorm (the body of ReLUConvBN)."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, kernel_size, stride, kernel_size // 2, bias=False),
        BatchNorm2d(channels, affine=affine),
    )


def dil_conv(channels: int, kernel_size: int, stride: int, dilation: int, affine: bool):
    """DARTS's DilConv without its leading ReLU: dilated depthwise, pointwise, BatchNorm."""
    padding = dilation * (kernel_size - 1) // 2
    return nn.Sequential(
        DepthwiseConv2d(channels, kernel_size, stride, padding, dilation),
        nn.Conv2d(channels, channels, 1, bias=False),
        BatchNorm2d(channels, affine=affine),
    )


def sep_conv(channels: int, kernel_size: int, stride: int, affine: bool) -> nn.Sequential:
    """DARTS's SepConv without its leading ReLU: two depthwise-separable blocks, ReLU between."""
    padding = kernel_size // 2
    return nn.Sequential(
        *dil_conv(channels, kernel_size, stride, 1, affine),
        nn.ReLU(inplace=False),  # the operator's own middle activation (kept; see module doc)
        DepthwiseConv2d(channels, kernel_size, 1, padding),
        nn.Conv2d(channels, channels, 1, bias=False),
        BatchNorm2d(channels, affine=affine),
    )


def skip(channels: int, stride: int, affine: bool) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine)


register_operator("none", tags={"zero"}, description="no connection (DARTS Zero)")(
    lambda c, stride, affine: Zero(stride)
)
register_operator(
    "skip_connect", tags={"skip"}, description="identity; FactorizedReduce if strided"
)(skip)
register_operator("max_pool_3x3", tags={"pooling"})(
    lambda c, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1)
)
register_operator("avg_pool_3x3", tags={"pooling"})(
    lambda c, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
)
register_operator("sep_conv_3x3", tags={"parameterized"})(
    lambda c, stride, affine: sep_conv(c, 3, stride, affine)
)
register_operator("sep_conv_5x5", tags={"parameterized"})(
    lambda c, stride, affine: sep_conv(c, 5, stride, affine)
)
register_operator("sep_conv_7x7", tags={"parameterized"})(
    lambda c, stride, affine: sep_conv(c, 7, stride, affine)
)
register_operator("dil_conv_3x3", tags={"parameterized"})(
    lambda c, stride, affine: dil_conv(c, 3, stride, 2, affine)
)
register_operator("dil_conv_5x5", tags={"parameterized"})(
    lambda c, stride, affine: dil_conv(c, 5, stride, 2, affine)
)


@register_operator("conv_7x1_1x7", tags={"parameterized"})
def conv_7x1_1x7(c: int, stride: int, affine: bool) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(c, c, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
        nn.Conv2d(c, c, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
        BatchNorm2d(c, affine=affine),
    )


MAX_KERNEL_SIZE = 15  # larger kernels exceed every image a DARTS cell sees (32x32 halves twice)


def odd_kernel_size(value: object) -> str | None:
    """Why ``value`` is no kernel size the conv families take: the padding ``k // 2`` keeps the
    image size only for an odd ``k`` (DARTS's 3x3, 5x5, 7x7)."""
    if type(value) is not int:
        return "is not an integer; a kernel size is an odd integer, e.g. 3, 5 or 7"
    if not 1 <= value <= MAX_KERNEL_SIZE or value % 2 == 0:
        return (
            f"is not an odd integer in 1..{MAX_KERNEL_SIZE}; the padding keeps the image size "
            "only for an odd kernel, e.g. 3, 5 or 7"
        )
    return None


KERNEL = {"kernel_size": odd_kernel_size}


# Families whose kernel size is an argument-role factor (the paper's future-work question 2).
@register_operator(
    "sep_conv",
    tags={"parameterized"},
    description="separable conv, any kernel",
    arguments=KERNEL,
)
def sep_conv_k(c: int, stride: int, affine: bool, kernel_size: int = 3) -> nn.Module:
    return sep_conv(c, kernel_size, stride, affine)


@register_operator(
    "dil_conv",
    tags={"parameterized"},
    description="dilated (2) conv, any kernel",
    arguments=KERNEL,
)
def dil_conv_k(c: int, stride: int, affine: bool, kernel_size: int = 3) -> nn.Module:
    return dil_conv(c, kernel_size, stride, 2, affine)


@register_operator(
    "conv",
    tags={"parameterized"},
    description="plain k x k conv and BatchNorm",
    arguments=KERNEL,
)
def conv_k(c: int, stride: int, affine: bool, kernel_size: int = 3) -> nn.Module:
    return conv_bn(c, kernel_size, stride, affine)
