"""Built-in operators and activations; importing this package registers them."""

from factorspace.ops import activations, primitives  # noqa: F401  (registration on import)
from factorspace.ops.primitives import FactorizedReduce, ReLUConvBN, Zero

__all__ = ["FactorizedReduce", "ReLUConvBN", "Zero"]
