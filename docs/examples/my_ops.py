"""A user's own operator and activation. A recipe lists this module under `imports:`."""

from torch import nn

from factorspace import register_activation, register_operator


@register_activation("hardswish", description="x * relu6(x + 3) / 6")
def hardswish(channels: int) -> nn.Module:
    return nn.Hardswish()


@register_operator("conv_1x1", tags={"parameterized"}, description="1x1 conv and BN")
def conv_1x1(channels: int, stride: int, affine: bool) -> nn.Module:
    # The activation factor runs before this op (it is tagged `parameterized`), so no ReLU here.
    return nn.Sequential(
        nn.Conv2d(channels, channels, 1, stride, bias=False),
        nn.BatchNorm2d(channels, affine=affine),
    )
