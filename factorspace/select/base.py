"""The selection-rule template: how the genotype is chosen when the search's epochs are done.

A selection rule is a small class registered under the ``kind`` of its schema member
(:mod:`factorspace.schema.selection`). ``search.selection`` gives every architecture group its
rule, ``search.selection_overrides.GROUP`` one group's. At the end of the search each distinct
rule is called once, in the order of the groups, with the groups it selects for:

    rule.select(run, groups, projection)

It records its decisions in the shared :class:`Projection`: a choice fixed per (cell type, group,
edge), and, for cells that keep some inputs per node, the edges removed. What no rule decided is
left to DARTS's rule, which then derives the genotype from the projected weights: fixed choices
are one-hot, removed edges zero. DARTS's ``argmax`` decides nothing, so a search whose groups
all use it derives exactly as before selection rules existed.

While a rule works, the projection is the supernet's ``projection`` hook: the forward passes see
the decided edges as discrete, so a rule may fine-tune the supernet between decisions (DARTS-PT)
with :meth:`SelectionRun.tune_epoch`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch

from factorspace.registry import OPERATORS, Registry
from factorspace.relax import ForwardWeights
from factorspace.schema.selection import SELECTIONS, SelectionConfig

Batch = tuple[torch.Tensor, torch.Tensor]


class Selection:
    """Base of every selection rule."""

    def __init__(self, config: SelectionConfig) -> None:
        self.config = config

    def check(self, group: str, relaxation, run: SelectionRun) -> None:
        """Refuse a group this rule cannot select for (a FactorspaceError naming the field)."""

    def select(self, run: SelectionRun, groups: list[str], projection: Projection) -> None:
        """Record the choices of ``groups`` in ``projection``; nothing: DARTS's rule decides."""


SELECTION_CLASSES: Registry[type[Selection]] = Registry("selection rule")
S = TypeVar("S", bound=type[Selection])


def register_selection(name: str, *, config: type[SelectionConfig] | None = None):
    """Register a :class:`Selection` subclass as ``search.selection: {kind: name}``; ``config``
    is its schema member, registered with it when not yet known."""

    def decorate(cls: S) -> S:
        if config is not None and name not in SELECTIONS.members:
            SELECTIONS.member(config)
        SELECTION_CLASSES.add(name, cls)
        return cls

    return decorate


def unregister_selection(name: str) -> None:
    """Remove a selection rule and its schema member (for tests)."""
    SELECTION_CLASSES.remove(name)
    SELECTIONS.members.remove(name)


@dataclass
class Projection:
    """The decisions of the selection rules, and the forward weights they imply.

    ``fixed[(cell_type, group, edge)]`` is the choice an edge keeps; ``removed[cell_type]`` the
    edges a topology decision took out (their ``pruning_group`` weights all zero). ``mask``,
    while a rule scores a candidate decision, zeroes one choice ``(cell_type, group, edge,
    choice)`` or, with ``choice`` ``None``, a whole edge. Called on the supernet's forward
    weights, it returns them projected: fixed rows one-hot, masked entries zero, nothing
    renormalised (DARTS-PT's ``get_projected_weights`` and ``proj_mask``).
    """

    net: Any
    pruning_group: str | None = None
    fixed: dict[tuple[str, str, int], int] = field(default_factory=dict)
    removed: dict[str, set[int]] = field(default_factory=dict)
    mask: tuple[str, str | None, int, int | None] | None = None
    scoring: bool = False  # from the relaxations' evaluation weights (deterministic)

    def __call__(self, weights: dict[str, dict[str, ForwardWeights]]):
        out = {}
        for t, groups in weights.items():
            out[t] = {}
            for g, w in groups.items():
                if self.scoring:  # the relaxation's evaluation weights: no sample, no noise
                    w = self.net.relaxations[g].eval_weights(self.net.arch[t][g])
                out[t][g] = ForwardWeights(self.project(t, g, w.values), w.chosen)
        return out

    def project(self, cell_type: str, group: str, values: torch.Tensor) -> torch.Tensor:
        """``values`` (edges x choices) with this projection's decisions and mask applied."""
        keep = torch.ones_like(values)
        one_hot = torch.zeros_like(values)
        for (t, g, k), c in self.fixed.items():
            if t == cell_type and g == group:
                keep[k] = 0
                one_hot[k, c] = 1
        if group == self.pruning_group:
            for k in self.removed.get(cell_type, ()):
                keep[k], one_hot[k] = 0, 0
        out = values * keep + one_hot
        if self.mask is not None:
            t, g, k, c = self.mask
            whole_edge = c is None and group == self.pruning_group
            if t == cell_type and (whole_edge or (c is not None and g == group)):
                zero = torch.ones_like(values)
                if c is None:
                    zero[k] = 0
                else:
                    zero[k, c] = 0
                out = out * zero
        return out

    def probabilities(self) -> dict[str, dict[str, torch.Tensor]]:
        """The supernet's probabilities, projected: what DARTS's rule derives the genotype from.

        A fixed row of the pruning group is one-hot scaled by the row's strength before the
        projection (its largest weight but ``none``'s), so that DARTS's rule still ranks a node's
        inputs as it would have; removed edges are zero, below any kept one. In a cell whose
        topology a rule decided, an edge kept although its operation was decided ``none`` (a
        node keeps two inputs) keeps its supernet row: DARTS's rule names its operation among
        the others, and its strength keeps it above the removed edges (a one-hot ``none`` row
        would tie with them). A family that derives ``none`` edges (NB201) removes none.
        """
        probs = self.net.arch_probabilities()
        out = {}
        for t, groups in probs.items():
            out[t] = {}
            for g, p in groups.items():
                p = p.detach()
                projected = self.project(t, g, p)
                if g == self.pruning_group:
                    zero = zero_choices(self.net.space, g)
                    live = torch.tensor([not z for z in zero])
                    strength = p[:, live].max(dim=-1, keepdim=True).values if live.any() else 1.0
                    fixed = torch.zeros(len(p), 1, dtype=torch.bool)
                    kept_none = torch.zeros(len(p), 1, dtype=torch.bool)
                    removed = self.removed.get(t, set())
                    for (tt, gg, k), c in self.fixed.items():
                        if (tt, gg) == (t, g):
                            fixed[k] = True
                            kept_none[k] = bool(removed) and zero[c] and k not in removed
                    projected = torch.where(fixed, projected * strength, projected)
                    projected = torch.where(kept_none, p, projected)
                out[t][g] = projected.cpu()
        return out

    @contextlib.contextmanager
    def masked(self, mask) -> Iterator[None]:
        """The block scores ``mask`` (see the class); then no mask again."""
        self.mask = mask
        try:
            yield
        finally:
            self.mask = None

    def __bool__(self) -> bool:
        return bool(self.fixed or any(self.removed.values()))


@dataclass
class SelectionRun:
    """What a selection rule may use of the search it ends (made by
    :mod:`factorspace.search.selecting`)."""

    net: Any
    seed: int
    weights_config: Any  # search.weights: lr, momentum, weight_decay, lr_min
    val_batches: Callable[[int | None], list[Batch]]  # the next N validation batches (None: all)
    tune_epoch: Callable[[torch.optim.Optimizer, int], dict]  # one epoch of search iterations
    evaluate: Callable[[], tuple[float, float]]  # validation loss and accuracy, eval mode
    stop_check: Callable[[], None] = lambda: None  # raises on a signal (Ctrl-C, SIGTERM)
    say: Callable[[str], None] = lambda line: None  # one console line
    records: dict = field(default_factory=dict)  # kind -> what the rule wants in selection.json
    distributed: bool = False


def zero_choices(space, group: str) -> list[bool]:
    """Per choice of ``group``, whether it is the ``zero`` operator (DARTS's ``none``): of the
    operator factor's choices, or of the joint mode's candidates."""
    if space.mode == "joint":
        ops = [c.op for c in space.candidates]
    elif group == space.config.operator.name:
        ops = list(space.config.operator.choices)
    else:
        return [False] * len(space.groups[group])
    return ["zero" in OPERATORS.get(op).tags for op in ops]
