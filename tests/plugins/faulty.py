"""A test operator that turns non-finite on demand, to inject numerical faults into a search.

``test_faulty`` is a 1x1 convolution. While ``POISON`` is ``"output"`` its forward pass returns
NaN; while it is ``"gradient"`` the forward pass is finite but the gradient flowing back through
it is NaN. Tests set ``POISON`` around the steps they want to fail (monkeypatch).
"""

import torch
from torch import nn

from factorspace.registry import OPERATORS, register_operator

POISON: str | None = None


class _NanGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return torch.full_like(grad, float("nan"))


class Faulty(nn.Module):
    def __init__(self, channels: int, stride: int, affine: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if POISON == "output":
            return y * float("nan")
        if POISON == "gradient":
            return _NanGradient.apply(y)
        return y


if "test_faulty" not in OPERATORS:
    register_operator("test_faulty", tags={"parameterized"})(Faulty)
