"""A user's own module: registers an activation and an operator that recipes name in YAML."""

from torch import nn

from factorspace.registry import ACTIVATIONS, OPERATORS, register_activation, register_operator

if "test_hardswish" not in ACTIVATIONS:
    register_activation("test_hardswish")(lambda channels: nn.Hardswish())

if "test_conv1x1" not in OPERATORS:

    @register_operator("test_conv1x1", tags={"parameterized"})
    def conv1x1(channels: int, stride: int, affine: bool) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(channels, channels, 1, stride, bias=False),
            nn.BatchNorm2d(channels, affine=affine),
        )
