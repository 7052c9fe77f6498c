"""Built-in operators and activations; importing this package registers them."""

from factorspace.ops import activations, primitives  # noqa: F401  (registration on import)

# isort: split
from factorspace.ops import nb201  # noqa: F401  (after DARTS's: registration order is listing order)
from factorspace.ops.kernels import BatchNorm2d, DepthwiseConv2d, cat_channels
from factorspace.ops.primitives import FactorizedReduce, ReLUConvBN, Zero

__all__ = [
    "BatchNorm2d",
    "DepthwiseConv2d",
    "FactorizedReduce",
    "ReLUConvBN",
    "Zero",
    "cat_channels",
]
