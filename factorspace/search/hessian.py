"""The dominant eigenvalue of the Hessian of the validation loss w.r.t. the architecture.

RobustDARTS (Zela et al., ICLR 2020) tracks it to see a search heading for a sharp minimum, the
sign of its collapse into parameter-free operations. Its code (github.com/automl/RobustDARTS,
``src/search/analyze.py``'s ``compute_Hw`` / ``_hessian``; ``train_search.py`` calls it after each
epoch's training, ``max(LA.eigvals(H))``) builds the full Hessian of the validation loss on one
validation batch, the model in training mode, of the loss's gradient plus the architecture weight
decay (``grad + weight_decay * alpha``, so ``H + weight_decay * I``), w.r.t. every architecture
parameter (DARTS's ``alphas_normal`` and ``alphas_reduce``). Here the same matrix is never built:
power iteration on Hessian-vector products (double backward) finds its eigenvalue of largest
magnitude; if that one is negative, a second power iteration on ``H - lambda I`` finds the
largest. The parameters are every architecture parameter an optimizer steps (all groups of a
factorized space together, their cross terms included), each with its optimizer's weight decay.
The BatchNorm statistics the passes would update are put back. Eq. 2 is computed as autograd
does for these passes: the fused mixed activation's backward is not itself differentiable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def arch_weight_decays(net, arch_optimizers: dict) -> list[tuple[torch.nn.Parameter, float]]:
    """(parameter, its Adam's weight decay) for every architecture parameter being searched."""
    arch = {id(p) for p in net.arch.parameters()}
    out = []
    for opt in arch_optimizers.values():
        for group in opt.param_groups:
            out += [(p, group["weight_decay"]) for p in group["params"] if id(p) in arch]
    return out


def dominant_eigenvalue(
    net,
    params: list[tuple[torch.nn.Parameter, float]],
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    *,
    iterations: int = 20,
    tolerance: float = 1e-3,
    seed: int = 0,
) -> float:
    """The largest eigenvalue of ``d^2 L_val / d alpha^2 + diag(weight decay)`` over ``params``,
    ``L_val`` the mean cross-entropy of ``batches`` (training mode)."""
    tensors = [p for p, _ in params]
    decays = [wd for _, wd in params]
    saved = [b.detach().clone() for b in net.buffers()]
    was_training = net.training
    with net.autograd_mixing():
        net.train()
        try:
            loss = sum(F.cross_entropy(net(x).float(), y) for x, y in batches) / len(batches)
            grads = torch.autograd.grad(loss, tensors, create_graph=True)

            def hvp(v: list[torch.Tensor]) -> list[torch.Tensor]:
                hv = torch.autograd.grad(grads, tensors, grad_outputs=v, retain_graph=True)
                return [h.detach() + wd * x for h, wd, x in zip(hv, decays, v, strict=True)]

            generator = torch.Generator().manual_seed(seed)
            start = [torch.randn(p.shape, generator=generator).to(p) for p in tensors]
            top = power_iteration(hvp, start, iterations, tolerance)
            if top < 0:  # the most negative one: the largest is top + that of H - top I
                shifted = power_iteration(
                    lambda v: [h - top * x for h, x in zip(hvp(v), v, strict=True)],
                    start,
                    iterations,
                    tolerance,
                )
                top += shifted
        finally:
            with torch.no_grad():
                for b, v in zip(net.buffers(), saved, strict=True):
                    b.copy_(v)
            net.train(was_training)
    return float(top)


def power_iteration(matvec, start: list[torch.Tensor], iterations: int, tolerance: float) -> float:
    """The eigenvalue of largest magnitude of the symmetric operator ``matvec`` (a list of
    tensors to a list), by power iteration from ``start``: the Rayleigh quotient ``v.Av`` of the
    unit iterate, until it moves by less than ``tolerance`` (relative)."""
    v = _unit(start)
    value = 0.0
    for i in range(iterations):
        w = matvec(v)
        new = float(sum((a * b).sum() for a, b in zip(v, w, strict=True)))
        norm = _norm(w)
        if norm == 0:
            return 0.0
        v = [x / norm for x in w]
        if i and abs(new - value) <= tolerance * max(abs(new), 1e-12):
            return new
        value = new
    return value


def _norm(vs: list[torch.Tensor]) -> float:
    return float(torch.sqrt(sum((x * x).sum() for x in vs)))


def _unit(vs: list[torch.Tensor]) -> list[torch.Tensor]:
    norm = _norm(vs)
    return [x / norm for x in vs]
