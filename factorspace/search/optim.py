"""One optimizer for the weights, one per factor for the architecture, and the update rules.

Algorithm 1 of the paper, generalised to N factors: the weights take an SGD step on a training
batch; then each factor, in order, takes an Adam step on the validation loss computed *after* the
previous factor's step (``sequential``). ``simultaneous`` computes the validation loss once and
steps every factor on it. ``order="second"`` replaces each factor's gradient by DARTS's unrolled
(second-order) approximation (:mod:`factorspace.search.unrolled`). The architecture loss is the validation cross-entropy plus the
relaxations' term, when one has it (DrNAS's KL; :meth:`Supernet.relaxation_loss`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from factorspace.compile import Supernet
from factorspace.schema import SearchConfig
from factorspace.schema.network import EDGE_GROUP
from factorspace.schema.search import operator_group

Batch = tuple[torch.Tensor, torch.Tensor]
GradFn = Callable[[Supernet, Batch, list[torch.Tensor]], tuple[torch.Tensor, int]]


def weight_optimizer(net: Supernet, config: SearchConfig):
    """SGD with cosine annealing over the epochs, stepped once per epoch (DARTS)."""
    w = config.weights
    opt = torch.optim.SGD(
        net.weight_parameters(), lr=w.lr, momentum=w.momentum, weight_decay=w.weight_decay
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs, eta_min=w.lr_min)
    return opt, sched


def step_schedule(sched) -> None:
    """End the epoch's schedule. A search resumed after its epoch's last step (in the
    validation pass) steps no optimizer in this process; torch would warn that the step
    "before" ``optimizer.step()`` skips a rate, which it does not: the rate is the checkpoint's."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Detected call of `lr_scheduler\.step\(\)`", UserWarning)
        sched.step()


def update_order(net: Supernet, config: SearchConfig) -> list[str]:
    """Architecture groups in the order they are updated, each with an optimizer of its own:
    the recipe's, else the supernet's (the space's searched factors, then ``edge`` under edge
    normalisation, unless the edge weights step with the operator: :func:`joined_groups`)."""
    joined = joined_groups(net, config)
    searched = [g for g in net.arch_parameters() if g not in joined]
    if config.factor_order:
        ordered = [f for f in config.factor_order if f in searched]
        return ordered + [f for f in searched if f not in ordered]
    return searched


def joined_groups(net: Supernet, config: SearchConfig) -> dict[str, str]:
    """Group -> the group whose optimizer steps it: ``edge`` -> the operator's group under
    ``search.edge_weights: with_operator`` (PC-DARTS: one Adam over alphas and betas)."""
    groups = net.arch_parameters()
    host = operator_group(net.space.config)
    if config.edge_weights != "with_operator" or EDGE_GROUP not in groups or host is None:
        return {}
    return {EDGE_GROUP: host}


def arch_optimizers(net: Supernet, config: SearchConfig) -> dict[str, torch.optim.Adam]:
    """Group -> its own Adam, in update order; frozen groups get none and no gradient. Under
    ``edge_weights: with_operator`` the operator's Adam also holds the edge weights (with the
    operator's settings; freezing the operator freezes its logits only)."""
    groups = net.arch_parameters()
    guests = {host: groups[g] for g, host in joined_groups(net, config).items()}
    opts = {}
    for factor in update_order(net, config):
        settings = config.arch_for(factor)
        params = [] if settings.frozen else list(groups[factor])
        if settings.frozen:
            for p in groups[factor]:
                p.requires_grad_(False)
        params += guests.get(factor, [])
        if not params:
            continue
        opts[factor] = torch.optim.Adam(
            params, lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay
        )
    return opts


def loss_and_correct(net: nn.Module, batch: Batch) -> tuple[torch.Tensor, int]:
    x, y = batch
    logits = net(x)
    if logits.dtype in (torch.float16, torch.bfloat16):  # autocast: the loss in float32
        logits = logits.float()  # (a float64 net keeps float64: tests/search/test_second_order)
    return F.cross_entropy(logits, y), int((logits.argmax(-1) == y).sum())


def arch_loss_and_correct(net: Supernet, batch: Batch) -> tuple[torch.Tensor, int]:
    """The loss an architecture step descends: cross-entropy plus the relaxations' and the
    regularizers' terms."""
    loss, correct = loss_and_correct(net, batch)
    extra = net.relaxation_loss()
    loss = loss if extra is None else loss + extra
    regularization = net.regularization_loss()  # beta-DARTS's term (factorspace.regularize)
    return (loss if regularization is None else loss + regularization), correct


def weight_step(net: Supernet, opt, batch: Batch, grad_clip: float | None):
    """Line 3 of Algorithm 1: one SGD step of the weights on a training batch."""
    opt.zero_grad(set_to_none=True)
    loss, correct = loss_and_correct(net, batch)
    # Only the weights' gradients: the architecture's would be discarded anyway.
    loss.backward(inputs=net.weight_parameters())
    if grad_clip:
        nn.utils.clip_grad_norm_(net.weight_parameters(), grad_clip)
    opt.step()
    return loss.detach(), correct


def arch_steps(
    net: Supernet,
    opts: dict[str, torch.optim.Adam],
    val: Batch,
    *,
    update: str,
    grad_fn: GradFn | None = None,
):
    """Lines 4-5 of Algorithm 1 for every factor. Returns the last validation loss and hits.

    ``grad_fn(net, val, params)`` sets ``params``' gradients and returns (loss, correct); the
    default is the first-order gradient of the validation loss.
    """
    grad_fn = grad_fn or first_order_grads
    if update == "simultaneous":
        return _grad_and_step(net, list(opts.values()), val, grad_fn)
    loss, correct = torch.zeros(()), 0
    for opt in opts.values():  # sequential: each factor sees the previous factors' new values
        loss, correct = _grad_and_step(net, [opt], val, grad_fn)
    return loss, correct


def _grad_and_step(net: Supernet, opts: list[torch.optim.Adam], val: Batch, grad_fn: GradFn):
    params = [p for opt in opts for group in opt.param_groups for p in group["params"]]
    loss, correct = grad_fn(net, val, params)
    for opt in opts:
        opt.step()
    return loss, correct


def first_order_grads(
    net: Supernet, val: Batch, params: list[torch.Tensor]
) -> tuple[torch.Tensor, int]:
    # Only the stepping factor's gradients. autograd.grad(inputs=params) already skips torch's
    # weight-gradient kernels; building the graph with the weights frozen makes the custom
    # kernels of factorspace.ops.kernels skip theirs too.
    wanted = {id(p) for p in params}
    with frozen([w for w in net.weight_parameters() if id(w) not in wanted]):
        loss, correct = arch_loss_and_correct(net, val)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.zeros_like(p) if g is None else g
    return loss.detach(), correct


@contextmanager
def frozen(params: list[nn.Parameter]) -> Iterator[None]:
    """``params`` with ``requires_grad`` off inside the block; the flags are restored after."""
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)
