"""Relaxations: how architecture logits become forward weights, probabilities and loss terms.

A layer below :mod:`factorspace.compile`: it imports torch, the schema and the registry only.
Importing it registers the shipped relaxations (``softmax``, ``gumbel``, ``dirichlet``).
"""

from factorspace.relax import dirichlet, gumbel, softmax  # noqa: F401  (register)
from factorspace.relax.base import (
    RELAXATIONS,
    ForwardWeights,
    Relaxation,
    build_relaxation,
    build_relaxations,
    register_relaxation,
    unregister_relaxation,
)

__all__ = [
    "RELAXATIONS",
    "ForwardWeights",
    "Relaxation",
    "build_relaxation",
    "build_relaxations",
    "register_relaxation",
    "unregister_relaxation",
]
