"""The relaxation template: how one architecture group's logits become what the search uses.

As NASLib's mixed op (get the weights, process them, apply them), a relaxation is a small class:

- ``train_weights(logits)`` / ``eval_weights(logits)``: the forward weights of every edge
  (a :class:`ForwardWeights`: ``values`` of shape edges x choices and, for a hard relaxation,
  the one choice per edge that the edges compute, the others skipped);
- ``probabilities(logits)``: what derivation (DARTS's rule) and the per-epoch records read;
- ``loss(logits)``: an optional term added to the architecture loss (e.g. DrNAS's KL);
- ``set_epoch(epoch, epochs)``: the per-epoch schedule (e.g. GDAS's temperature).

``logits`` are one cell type's parameters of one group (edges x choices). A relaxation holds no
tensors of its own, only its settings and its schedule's position, so checkpoints are unchanged:
the search calls ``set_epoch`` at the start of every epoch, also after a resume.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import torch

from factorspace.errors import FactorspaceError, FieldError, format_loc
from factorspace.registry import Registry
from factorspace.schema.relaxation import (
    RELAXATION_CONFIGS,
    RelaxationConfig,
    check_relaxation_overrides,
    relaxation_member,
)


@dataclass(frozen=True)
class ForwardWeights:
    """One group's forward weights in one cell type.

    ``values[k]`` weighs edge ``k``'s choices; ``chosen[k]``, when given, is the only choice edge
    ``k`` computes (a hard relaxation: ``values[k]`` is one-hot in value).
    """

    values: torch.Tensor
    chosen: list[int] | None = None


class Relaxation:
    """Base of every relaxation: subclasses define ``probabilities`` and what differs from it."""

    # True when a training forward computes a sampled subset of the choices (``chosen``): the
    # other modules get no gradient, which torchrun's DistributedDataParallel refuses.
    samples_paths: bool = False

    def __init__(self, config: RelaxationConfig) -> None:
        self.config = config

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Per edge, a distribution over the choices: derivation and records read it."""
        raise NotImplementedError

    def train_weights(self, logits: torch.Tensor) -> ForwardWeights:
        """The weights of a training forward pass; by default the probabilities."""
        return ForwardWeights(self.probabilities(logits))

    def eval_weights(self, logits: torch.Tensor) -> ForwardWeights:
        """The weights of an evaluation forward pass; by default the training ones."""
        return self.train_weights(logits)

    def forward_weights(self, logits: torch.Tensor, training: bool) -> ForwardWeights:
        return self.train_weights(logits) if training else self.eval_weights(logits)

    def loss(self, logits: torch.Tensor) -> torch.Tensor | None:
        """A term added to the architecture loss; ``None``: none."""
        return None

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Called at the start of epoch ``epoch`` (0-based) of ``epochs``."""


RELAXATIONS: Registry[type[Relaxation]] = Registry("relaxation")
R = TypeVar("R", bound=type[Relaxation])


def register_relaxation(
    name: str, *, config: type[RelaxationConfig] | None = None
) -> Callable[[R], R]:
    """Register a :class:`Relaxation` subclass as ``search.relaxation.kind: name``.

    ``config`` is its schema member (a :class:`RelaxationConfig` with ``kind: Literal[name]``),
    registered with it when it is not yet known (the shipped members are declared in
    :mod:`factorspace.schema.relaxation`).
    """

    def decorate(cls: R) -> R:
        if config is not None and name not in RELAXATION_CONFIGS:
            relaxation_member(config)
        RELAXATIONS.add(name, cls)
        return cls

    return decorate


def unregister_relaxation(name: str) -> None:
    """Remove a relaxation and its schema member (for tests)."""
    RELAXATIONS.remove(name)
    RELAXATION_CONFIGS.remove(name)


def build_relaxation(config: RelaxationConfig) -> Relaxation:
    """The relaxation ``config.kind`` names, set up with ``config``."""
    return RELAXATIONS.build(config, field="search.relaxation.kind")


def build_relaxations(
    groups: list[str], default: RelaxationConfig, overrides: Mapping[str, RelaxationConfig]
) -> dict[str, Relaxation]:
    """Group -> its relaxation: ``overrides[group]``, else ``default`` (one instance per group).

    Raises:
        FactorspaceError: when an override names no group (``search.relaxation_overrides.X: ...``).
    """
    try:
        check_relaxation_overrides(overrides, groups)
    except FieldError as e:
        raise FactorspaceError(e.message, field=format_loc(e.loc)) from None
    return {g: build_relaxation(overrides.get(g, default)) for g in groups}
