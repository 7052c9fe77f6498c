"""The regularizer template and the set of them a supernet carries.

A regularizer is a small class, registered under the ``kind`` of its schema member
(:mod:`factorspace.schema.regularizer`), with up to four parts:

- ``loss(logits)``: a term added to the architecture loss, from one group's logits (one tensor
  per cell type, edges x choices), e.g. beta-DARTS's Beta-Decay;
- ``perturb(weights)``: the forward weights one group's edges see during the *weight* step
  (a :class:`~factorspace.relax.ForwardWeights`), e.g. SDARTS-RS's random smoothing; the
  architecture step and evaluation see the relaxation's weights unchanged;
- ``install(net)``: for an edge-level regularizer (``edge_level = True``), what it adds to every
  edge of the compiled supernet, e.g. DARTS-'s auxiliary skip connection;
- ``set_epoch(epoch, epochs)``: its schedule, at the start of every epoch (also after a resume).

A group-level regularizer gets one instance per architecture group (a factor with more than one
choice; ``joint`` in the joint mode), so a factorized space is regularized factor by factor:
``search.regularizers`` for every group, ``search.regularizer_overrides.GROUP`` for one.
An edge-level one gets one instance for the whole supernet. Regularizers hold no tensors that a
checkpoint would need: their schedules are functions of the epoch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import ClassVar, TypeVar

import torch

from factorspace.registry import Registry
from factorspace.relax import ForwardWeights
from factorspace.schema.regularizer import EDGE_LEVEL, REGULARIZERS, RegularizerConfig


class Regularizer:
    """Base of every regularizer: subclasses define the parts they change."""

    edge_level: ClassVar[bool] = False  # acts on every edge (install), not on one group
    perturbs: ClassVar[bool] = False  # defines perturb (the weight step's weights)

    def __init__(self, config: RegularizerConfig) -> None:
        self.config = config

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Called at the start of epoch ``epoch`` (0-based) of ``epochs``."""

    def loss(self, logits: list[torch.Tensor]) -> torch.Tensor | None:
        """A term of the architecture loss from one group's logits (one tensor per cell type);
        ``None``: none."""
        return None

    def perturb(self, weights: ForwardWeights) -> ForwardWeights:
        """The weights one group's edges see in the weight step (one cell type)."""
        return weights

    def check(self, group: str, relaxation) -> None:
        """Refuse a group whose relaxation this regularizer cannot act on (a
        :class:`~factorspace.errors.FactorspaceError` naming the field)."""

    def install(self, net) -> None:
        """Edge-level regularizers: add what they need to every edge of ``net``."""


REGULARIZER_CLASSES: Registry[type[Regularizer]] = Registry("regularizer")
R = TypeVar("R", bound=type[Regularizer])


def register_regularizer(
    name: str, *, config: type[RegularizerConfig] | None = None
) -> Callable[[R], R]:
    """Register a :class:`Regularizer` subclass as ``search.regularizers: [{kind: name}]``.

    ``config`` is its schema member (a :class:`RegularizerConfig` with ``kind: Literal[name]``),
    registered with it when not yet known (the shipped members are declared in
    :mod:`factorspace.schema.regularizer`).
    """

    def decorate(cls: R) -> R:
        if config is not None and name not in REGULARIZERS.members:
            REGULARIZERS.member(config)
        REGULARIZER_CLASSES.add(name, cls)
        if cls.edge_level:
            EDGE_LEVEL.add(name)  # refused in a per-group override
        return cls

    return decorate


def unregister_regularizer(name: str) -> None:
    """Remove a regularizer and its schema member (for tests)."""
    REGULARIZER_CLASSES.remove(name)
    REGULARIZERS.members.remove(name)
    EDGE_LEVEL.discard(name)


class Regularization:
    """The regularizers of one supernet (``Supernet.regularization``): per group, and edge-level.

    The supernet calls :meth:`transform` on its forward weights, :meth:`loss` in the architecture
    loss and :meth:`set_epoch` with the relaxations' schedules; the search wraps its weight step
    in :meth:`weight_step`, the only time :meth:`transform` perturbs.
    """

    def __init__(self, groups: dict[str, list[Regularizer]], edge: list[Regularizer]) -> None:
        self.groups, self.edge = groups, edge
        self.perturbing = {g: [r for r in rs if r.perturbs] for g, rs in groups.items()}
        self.in_weight_step = False

    def all(self) -> list[Regularizer]:
        return [*self.edge, *(r for rs in self.groups.values() for r in rs)]

    def set_epoch(self, epoch: int, epochs: int) -> None:
        for r in self.all():
            r.set_epoch(epoch, epochs)

    def loss(self, arch) -> torch.Tensor | None:
        """The groups' loss terms, summed; ``arch``: cell type -> group -> logits."""
        terms = []
        for group, regularizers in self.groups.items():
            logits = [arch[t][group] for t in arch]
            terms += [term for r in regularizers if (term := r.loss(logits)) is not None]
        if not terms:
            return None
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def transform(
        self, weights: dict[str, dict[str, ForwardWeights]], training: bool
    ) -> dict[str, dict[str, ForwardWeights]]:
        """The forward weights, perturbed in a training forward of the weight step."""
        if not (training and self.in_weight_step):
            return weights
        out = {}
        for t, groups in weights.items():
            out[t] = dict(groups)
            for g, regularizers in self.perturbing.items():
                for r in regularizers:
                    out[t][g] = r.perturb(out[t][g])
        return out

    @contextlib.contextmanager
    def weight_step(self) -> Iterator[None]:
        """The block is a weight step: :meth:`transform` perturbs (SDARTS-RS)."""
        self.in_weight_step = True
        try:
            yield
        finally:
            self.in_weight_step = False


@contextlib.contextmanager
def weight_step(net) -> Iterator[None]:
    """``with weight_step(net):`` around a weight step; nothing without regularizers."""
    regularization = getattr(net, "regularization", None)
    if regularization is None:
        yield
        return
    with regularization.weight_step():
        yield
