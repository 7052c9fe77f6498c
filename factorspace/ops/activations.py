"""The paper's nine activations (the "activation operator group"), registered by name.

Each edge gets its own instance, so learned activations (PReLU's slope, Swish's b) are per edge.
"""

from __future__ import annotations

import torch
from torch import nn

from factorspace.registry import register_activation


class Swish(nn.Module):
    """x * sigmoid(b * x) with a learned coefficient b (Ramachandran et al. 2018), b initialised to 1."""

    def __init__(self) -> None:
        super().__init__()
        self.b = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.b * x)


register_activation("relu")(lambda c: nn.ReLU())
register_activation("relu6")(lambda c: nn.ReLU6())
register_activation("leaky_relu")(lambda c: nn.LeakyReLU())
register_activation("prelu", description="one learned slope per edge")(lambda c: nn.PReLU())
register_activation("rrelu", description="random slope in training, mean slope in eval")(
    lambda c: nn.RReLU()
)
register_activation("elu")(lambda c: nn.ELU())
register_activation("celu")(lambda c: nn.CELU())
register_activation("selu")(lambda c: nn.SELU())
register_activation("swish", description="x*sigmoid(b*x), learned b")(lambda c: Swish())
