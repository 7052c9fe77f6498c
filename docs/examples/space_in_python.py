"""The paper's space as pydantic objects: the same model a YAML recipe is read into."""

import torch

import factorspace as fs
from factorspace.schema import InputFactor, OperatorFactor, Rule, SpaceConfig, SupernetConfig

# --8<-- [start:space]
space = SpaceConfig(
    mode="factorized",
    factors=[
        OperatorFactor(
            name="op",
            role="operator",
            choices=["none", "max_pool_3x3", "avg_pool_3x3",
                     "skip_connect", "sep_conv_3x3",
                     "sep_conv_5x5", "dil_conv_3x3",
                     "dil_conv_5x5"],
        ),
        InputFactor(
            name="activation",
            role="input",
            choices=["relu", "relu6", "leaky_relu", "prelu",
                     "rrelu", "elu", "celu", "selu", "swish"],
            applies_to=Rule(factor="op", tags=["parameterized"]),
        ),
    ],
)  # fmt: skip
# --8<-- [end:space]

# The YAML recipe holds exactly this space.
assert fs.load_recipe("recipes/adarts_cifar.yaml").space == space

# A tiny supernet: one architecture-parameter tensor per factor per cell type.
net = fs.compile_supernet(space, SupernetConfig(channels=4, cells=2), device="cpu")
print({name: [tuple(p.shape) for p in ps] for name, ps in net.arch_parameters().items()})
logits = net(torch.randn(2, 3, 8, 8))
print(tuple(logits.shape))
