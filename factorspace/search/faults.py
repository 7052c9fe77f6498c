"""Non-finite values caught at the step they appear, before they reach the weights.

:class:`FiniteGuard` hooks the supernet and the search's optimizers:

* the supernet's output during a weight step (a NaN or inf there makes the training loss one);
* the supernet's output during an architecture step (finite architecture parameters, checked
  after their own steps, leave the weights to blame: a weight learning rate that blew up);
* every optimizer's gradients, just before its step (so a bad gradient is never applied);
* each architecture group's parameters just after its step (restored if the step made them
  non-finite), and the weights just after theirs (a step too large for them; not restored: the
  batch cannot be skipped).

Each raises :class:`NonFinite`, naming what was non-finite and its parameter group. Under
``search.on_nonfinite: skip`` the search drops the batch: :meth:`FiniteGuard.snapshot` keeps the
buffers (BatchNorm statistics, which a forward pass updates) before the weight step and
:meth:`FiniteGuard.rollback` puts them back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import torch
from torch import nn

from factorspace.errors import FactorspaceError
from factorspace.run.distributed import DistributedContext


class NonFinite(Exception):
    """A NaN or inf in ``what`` (loss, gradient, parameter) of parameter group ``group``;
    ``skippable``: the state before the batch can be put back (not after a weight step made
    the weights non-finite)."""

    def __init__(self, what: str, group: str, *, skippable: bool = True) -> None:
        self.what, self.group, self.skippable = what, group, skippable
        super().__init__(f"non-finite {what} in parameter group {group!r}")


def all_finite(tensors: Iterable[torch.Tensor]) -> bool:
    tensors = [t.detach() for t in tensors]
    if not tensors:
        return True
    total = sum(t.float().abs().sum() for t in tensors)  # NaN and inf survive the sum
    return bool(torch.isfinite(total))


class FiniteGuard:
    """Hooks raising :class:`NonFinite`; ``remove()`` takes them off."""

    def __init__(
        self, net: nn.Module, weight_optimizer, arch_optimizers: dict, *, keep_buffers: bool
    ) -> None:
        self.net, self.keep_buffers = net, keep_buffers
        self.checking_output = self.checking_arch_output = False
        self.saved_buffers: list[torch.Tensor] = []
        self.handles = [net.register_forward_hook(self._check_output)]
        self._guard(weight_optimizer, "weights", restore=False)
        for group, opt in arch_optimizers.items():
            self._guard(opt, group, restore=True)

    def _guard(self, opt: torch.optim.Optimizer, group: str, *, restore: bool) -> None:
        """Check ``opt``'s gradients before its step and its parameters after it; ``restore``:
        put non-finite parameters back as they were (cheap for the architecture's few)."""
        params = [p for g in opt.param_groups for p in g["params"]]
        before: list[torch.Tensor] = []

        def pre(optimizer, args, kwargs):
            if not all_finite(p.grad for p in params if p.grad is not None):
                raise NonFinite("gradient", group)
            if restore:
                before[:] = [p.detach().clone() for p in params]

        def post(optimizer, args, kwargs):
            if all_finite(params):
                return
            if not restore:
                raise NonFinite("parameter (after its step)", group, skippable=False)
            with torch.no_grad():
                for p, old in zip(params, before, strict=True):
                    p.copy_(old)
            raise NonFinite("parameter", group)

        self.handles += [opt.register_step_pre_hook(pre), opt.register_step_post_hook(post)]

    def _check_output(self, module, inputs, output) -> None:
        if self.checking_output and not all_finite([output]):
            raise NonFinite("loss (network output)", "weights")
        if self.checking_arch_output and not all_finite([output]):
            # the architecture parameters are finite (checked after each step): the weights
            # (or the batch) made the output non-finite
            raise NonFinite("network output of the architecture step", "weights")

    def snapshot(self) -> None:
        """Keep the buffers for :meth:`rollback` (``keep_buffers`` only): called before an
        iteration's first step."""
        if self.keep_buffers:
            self.saved_buffers = [b.detach().clone() for b in self.net.buffers()]

    @contextlib.contextmanager
    def weight_step(self, *, snapshot: bool = True):
        """Around the weight step: check the network's output; :meth:`snapshot` unless told
        not to (the architecture step came first and took it)."""
        self.checking_output = True
        if snapshot:
            self.snapshot()
        try:
            yield
        finally:
            self.checking_output = False

    @contextlib.contextmanager
    def arch_step(self):
        """Around the architecture steps: check the network's output."""
        self.checking_arch_output = True
        try:
            yield
        finally:
            self.checking_arch_output = False

    def rollback(self) -> None:
        """Put back the buffers of the last :meth:`snapshot` (``keep_buffers`` only)."""
        with torch.no_grad():
            for b, old in zip(self.net.buffers(), self.saved_buffers, strict=True):
                b.copy_(old)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


def nonfinite_hint(error: NonFinite, skip: bool) -> str:
    """What to change after ``error`` stopped a search (``skip``: under on_nonfinite=skip)."""
    skip_hint = "set search.on_nonfinite=skip to skip such batches"
    if error.skippable:
        return f"lower search.weights.lr, or {skip_hint}" if error.group == "weights" else skip_hint
    hint = "the weights' step was too large: lower search.weights.lr or search.weights.grad_clip"
    return hint + (" (such a batch cannot be skipped)" if skip else "")


def check_single_path_allowed(net, distributed: DistributedContext) -> None:
    """Refuse a relaxation that computes sampled paths only (GDAS) under torchrun: each process
    would draw its own sample and DDP expects a gradient for every weight.

    Raises:
        FactorspaceError: such a relaxation in a distributed run, naming the group.
    """
    sampled = [g for g, r in net.relaxations.items() if r.samples_paths]
    if distributed.enabled and sampled:
        raise FactorspaceError(
            f"{net.relaxations[sampled[0]].config.kind} (group {sampled[0]!r}) computes one "
            "sampled path per edge, which is not supported under torchrun yet; use softmax or "
            "dirichlet, or one process",
            field="search.relaxation",
        )


def check_skip_allowed(on_nonfinite: str, distributed: DistributedContext) -> None:
    """Refuse ``search.on_nonfinite: skip`` under torchrun.

    Raises:
        FactorspaceError: skip asked for in a distributed run.
    """
    if distributed.enabled and on_nonfinite == "skip":
        raise FactorspaceError(
            "skip is not available under torchrun (the processes could disagree on which batch "
            "to skip); use stop",
            field="search.on_nonfinite",
        )
