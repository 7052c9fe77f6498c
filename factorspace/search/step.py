"""One search iteration's pieces: the architecture gradient it uses, the order of its steps,
and the finiteness check of a step's loss.

``search.step_order``: ``weights_first`` is the paper's Algorithm 1 (line 3, the weight step on
the training batch, then lines 4-5, the architecture steps on the validation batch);
``arch_first`` is DARTS's and PC-DARTS's ``train_search.py`` (``architect.step`` on the
validation batch, then the weights' ``optimizer.step`` on the training batch).
"""

from __future__ import annotations

import torch

from factorspace.errors import FactorspaceError
from factorspace.regularize import weight_step as regularized_weight_step
from factorspace.run.precision import autocast
from factorspace.schema import SearchConfig
from factorspace.search import optim
from factorspace.search.faults import NonFinite
from factorspace.search.unrolled import pre_step_weights, second_order_grads


def arch_grad_fn(
    config: SearchConfig,
    w_opt: torch.optim.SGD,
    train: optim.Batch,
    pre_step: list[torch.Tensor] | None,
) -> optim.GradFn:
    """The architecture gradient of ``search.order``: first order, or DARTS's unrolled one
    (``pre_step``: the weights before an already-taken weight step, ``weights_first``)."""
    if config.order == "second":
        return second_order_grads(w_opt, train, config, pre_step)
    return optim.first_order_grads


def plain_iteration(
    net,
    w_opt: torch.optim.SGD,
    a_opts: dict,
    train: optim.Batch,
    val: optim.Batch,
    config: SearchConfig,
    device: torch.device,
) -> tuple[torch.Tensor, int]:
    """One search iteration as ``search.step_order``, ``order`` and ``update`` make it: the
    weight step and every architecture step, in the search's order and with its passes
    (the search loop adds the finiteness guard, fp16's loss scaling and torchrun's averaging).
    ``bench`` and ``space --estimate`` time this."""
    arch_first = config.step_order == "arch_first"
    pre_step = pre_step_weights(net) if config.order == "second" and not arch_first else None

    def arch_step(pre):
        grad_fn = arch_grad_fn(config, w_opt, train, pre)
        with autocast(device, config.precision):
            optim.arch_steps(net, a_opts, val, update=config.update, grad_fn=grad_fn)

    if arch_first:
        arch_step(None)
    with autocast(device, config.precision), regularized_weight_step(net):
        loss, correct = optim.weight_step(net, w_opt, train, config.weights.grad_clip)
    if not arch_first:
        arch_step(pre_step)
    return loss, correct


def passes_per_iteration(config: SearchConfig, groups: int) -> int:
    """Forward/backward passes of one iteration over ``groups`` architecture optimizers: the
    weights' one, then per architecture step one (first order) or, DARTS's unrolled gradient,
    the validation pass and the two of the Hessian term, plus the unrolled weight step's own
    under ``arch_first`` (:mod:`factorspace.search.unrolled`)."""
    steps = groups if config.update == "sequential" else min(groups, 1)
    second = {"arch_first": 4, "weights_first": 3}[config.step_order]
    return 1 + steps * (1 if config.order == "first" else second)


def check_finite(loss: torch.Tensor, group: str) -> None:
    """Raise :class:`NonFinite` for a NaN or infinite ``loss`` of ``group``."""
    if not torch.isfinite(loss):
        raise NonFinite(f"loss ({float(loss)})", group)


def check_arch_optimizers(saved: dict, opts: dict, path) -> None:
    """Refuse a checkpoint whose architecture optimizers are other groups than this search's
    (e.g. written with ``search.edge_weights: own_group``, or before that setting existed).

    Raises:
        FactorspaceError: the groups differ.
    """
    if list(saved) != list(opts):
        raise FactorspaceError(
            f"{path}: the checkpoint's architecture optimizers are for the groups "
            f"{', '.join(saved) or 'none'}, this search's for {', '.join(opts) or 'none'} "
            "(search.edge_weights, factor_order or a frozen group differ); resume with the "
            "settings that wrote it"
        )
