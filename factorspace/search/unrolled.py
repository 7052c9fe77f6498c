"""DARTS's second-order (unrolled) architecture gradient (``search.order: second``).

DARTS (``cnn/architect.py``) approximates the best weights for the architecture ``a`` by one
SGD step from the current weights ``w`` on the current training batch,

    w' = w - xi * (momentum * buf + grad_w L_train(w, a) + weight_decay * w),

``xi`` the current weight learning rate and ``buf`` SGD's momentum buffer, and descends

    grad_a L_val(w', a) - xi * (grad_a L_train(w+, a) - grad_a L_train(w-, a)) / (2 R),

with ``w+- = w +- R grad_w' L_val(w', a)`` and ``R = 0.01 / ||grad_w' L_val(w', a)||``.

``w`` is the weights *before* this iteration's weight step. Under ``step_order: arch_first``
(DARTS's order) those are the supernet's current weights and ``w'`` is computed here; the
validation forward at ``w'`` then leaves the BatchNorm statistics as they were (DARTS runs it on
a copy of the model). Under ``weights_first`` (Algorithm 1) the weight step just taken *is* that
step, ``w_{t+1} = w_t - eta * (...)`` on the same training batch, so ``w'`` is the current weights
and ``w`` the copy :func:`pre_step_weights` kept before the step; Algorithm 1's line 4,
``L_val(w_{t+1}, a)``, is differentiated through line 3.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from factorspace.compile import Supernet
from factorspace.schema import SearchConfig
from factorspace.search.optim import Batch, GradFn, arch_loss_and_correct, loss_and_correct


def trainable_weights(net: Supernet) -> list[torch.nn.Parameter]:
    return [w for w in net.weight_parameters() if w.requires_grad]


def pre_step_weights(net: Supernet) -> list[torch.Tensor]:
    """A copy of the weights before the weight step (``weights_first``'s unrolling origin)."""
    return [w.detach().clone() for w in trainable_weights(net)]


def second_order_grads(
    w_opt: torch.optim.SGD,
    train: Batch,
    config: SearchConfig,
    pre_step: list[torch.Tensor] | None = None,
) -> GradFn:
    """A ``grad_fn`` for :func:`~factorspace.search.optim.arch_steps` setting DARTS's unrolled
    gradient. ``pre_step``: the weights before the weight step already taken on ``train``
    (``weights_first``); ``None``: the weight step is still to come (``arch_first``)."""

    def grad_fn(net: Supernet, val: Batch, arch: list[torch.Tensor]) -> tuple[torch.Tensor, int]:
        weights = trainable_weights(net)
        xi = w_opt.param_groups[0]["lr"]
        current = [w.detach().clone() for w in weights]
        if pre_step is None:
            origin = current
            step = unrolled_step(net, weights, w_opt, train, config)
            _set(weights, [w - xi * s for w, s in zip(current, step, strict=True)])
            with kept_buffers(net):  # DARTS: the unrolled model is a copy
                val_loss, correct, d_arch, d_w = _val_grads(net, val, arch, weights)
        else:
            origin = pre_step
            val_loss, correct, d_arch, d_w = _val_grads(net, val, arch, weights)
        hessian = hessian_term(net, weights, arch, train, origin, d_w)
        _set(weights, current)
        for a, d, h in zip(arch, d_arch, hessian, strict=True):
            a.grad = d - xi * h
        return val_loss, correct

    return grad_fn


def _val_grads(net: Supernet, val: Batch, arch, weights):
    """The architecture loss on ``val`` at the current weights, its hits, and its gradients
    with respect to ``arch`` and ``weights``."""
    loss, correct = arch_loss_and_correct(net, val)
    grads = _grads(loss, arch + weights)
    return loss.detach(), correct, grads[: len(arch)], grads[len(arch) :]


def unrolled_step(net: Supernet, weights, w_opt, train: Batch, config: SearchConfig):
    """``momentum * buf + grad_w L_train(w) + weight_decay * w``: SGD's next step, unscaled."""
    momentum, wd = config.weights.momentum, config.weights.weight_decay
    loss, _ = loss_and_correct(net, train)
    steps = []
    for w, g in zip(weights, _grads(loss, weights), strict=True):
        buf = w_opt.state.get(w, {}).get("momentum_buffer")  # none before the first step
        step = g + wd * w.detach()
        steps.append(step if buf is None else momentum * buf + step)
    return steps


def hessian_term(net: Supernet, weights, arch, train: Batch, origin, d_w) -> list[torch.Tensor]:
    """(grad_a L_train(w + R v) - grad_a L_train(w - R v)) / (2 R), w = ``origin``, v = ``d_w``,
    R = 0.01 / ||v|| (DARTS's ``_hessian_vector_product``)."""
    r = 0.01 / torch.cat([v.flatten() for v in d_w]).norm().clamp_min(1e-12)

    def arch_grads_at(sign: float) -> list[torch.Tensor]:
        _set(weights, [w + sign * r * v for w, v in zip(origin, d_w, strict=True)])
        loss, _ = loss_and_correct(net, train)
        return _grads(loss, arch)

    plus, minus = arch_grads_at(+1.0), arch_grads_at(-1.0)
    return [(p - m) / (2 * r) for p, m in zip(plus, minus, strict=True)]


def _grads(loss: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True)]


@torch.no_grad()
def _set(params, values) -> None:
    for p, v in zip(params, values, strict=True):
        p.copy_(v)


@contextlib.contextmanager
def kept_buffers(net: Supernet) -> Iterator[None]:
    """The BatchNorm statistics as they were before the block."""
    saved = [b.detach().clone() for b in net.buffers()]
    try:
        yield
    finally:
        _set(list(net.buffers()), saved)
