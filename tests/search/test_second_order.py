"""DARTS's second-order architecture gradient, unrolled from the weights before the weight step
(DARTS ``cnn/architect.py``), against the same gradient written out here with ``torch.func``;
and the order of the weight and architecture steps (``search.step_order``)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from factorspace.compile import compile_supernet
from factorspace.schema import SearchConfig, SupernetConfig
from factorspace.search import optim, search
from factorspace.search.unrolled import pre_step_weights, second_order_grads
from tests.search.tiny import one_thread, tiny_recipe

# No rrelu: its training-mode noise would differ between the two computations.
SPACE = ["space.factors.1.choices=[relu, swish]"]
CONFIG = SearchConfig.model_validate(
    {"weights": {"lr": 0.05, "momentum": 0.9, "weight_decay": 3e-4, "grad_clip": None}}
)


def float64_supernet():
    torch.manual_seed(0)
    recipe = tiny_recipe(*SPACE)
    net = compile_supernet(recipe.space, SupernetConfig(channels=4, cells=3, classes=10)).double()
    make = torch.Generator().manual_seed(1)

    def batch():
        x = torch.randn(4, 3, 8, 8, generator=make, dtype=torch.float64)
        return x, torch.randint(0, 10, (4,), generator=make)

    return net, batch(), batch()


def names_of(net, params) -> list[str]:
    ids = {id(p): n for n, p in net.named_parameters()}
    return [ids[id(p)] for p in params]


def darts_unrolled_gradient(net, w_opt, train, val, arch_names, weight_names):
    """DARTS's architect, step by step, on explicit tensors (nothing of the net changes)."""
    xi, cfg = w_opt.param_groups[0]["lr"], CONFIG.weights
    params = dict(net.named_parameters())
    w = {n: params[n].detach().clone().requires_grad_() for n in weight_names}
    a = {n: params[n].detach().clone().requires_grad_() for n in arch_names}

    def loss(weights, batch):
        x, y = batch
        return F.cross_entropy(functional_call(net, {**weights, **a}, (x,)), y)

    g = torch.autograd.grad(loss(w, train), list(w.values()))
    buf = {n: w_opt.state[params[n]]["momentum_buffer"] for n in weight_names}
    unrolled = {  # w' = w - xi (momentum * buf + dL_train/dw + weight_decay * w)
        n: (w[n] - xi * (cfg.momentum * buf[n] + gn + cfg.weight_decay * w[n])).detach()
        for n, gn in zip(weight_names, g, strict=True)
    }
    unrolled = {n: t.requires_grad_() for n, t in unrolled.items()}
    grads = torch.autograd.grad(loss(unrolled, val), [*a.values(), *unrolled.values()])
    d_alpha, d_w = grads[: len(a)], grads[len(a) :]
    r = 0.01 / torch.cat([v.flatten() for v in d_w]).norm()

    def d_alpha_train(sign):
        moved = {n: w[n].detach() + sign * r * v for n, v in zip(weight_names, d_w, strict=True)}
        return torch.autograd.grad(loss(moved, train), list(a.values()))

    plus, minus = d_alpha_train(+1), d_alpha_train(-1)
    return [d - xi * (p - m) / (2 * r) for d, p, m in zip(d_alpha, plus, minus, strict=True)]


@pytest.mark.parametrize("step_order", ["arch_first", "weights_first"])
def test_second_order_gradient_is_darts_unrolled_from_the_pre_step_weights(step_order):
    net, train, val = float64_supernet()
    w_opt, _ = optim.weight_optimizer(net, CONFIG)
    optim.weight_step(net, w_opt, val, grad_clip=None)  # a momentum buffer to unroll with
    w_opt.param_groups[0]["lr"] = 0.03  # xi: the current lr, not the initial one
    arch = [p for ps in net.arch_parameters().values() for p in ps]
    weights = [w for w in net.weight_parameters() if w.requires_grad]
    expected = darts_unrolled_gradient(
        net, w_opt, train, val, names_of(net, arch), names_of(net, weights)
    )
    before = pre_step_weights(net)

    if step_order == "arch_first":  # the architecture gradient, then the weight step
        second_order_grads(w_opt, train, CONFIG)(net, val, arch)
        for w, w0 in zip(weights, before, strict=True):
            assert torch.equal(w, w0)  # the unrolling leaves the weights as they were
    else:  # Algorithm 1: the weight step, then the gradient through it
        optim.weight_step(net, w_opt, train, grad_clip=None)
        after = pre_step_weights(net)
        second_order_grads(w_opt, train, CONFIG, pre_step=before)(net, val, arch)
        for w, w1 in zip(weights, after, strict=True):
            assert torch.equal(w, w1)
    assert max(float(e.abs().max()) for e in expected) > 1e-4  # a gradient that says something
    for a, e in zip(arch, expected, strict=True):
        torch.testing.assert_close(a.grad, e, atol=1e-10, rtol=0)


def test_the_gradient_differs_from_unrolling_twice():
    """The former rule (unroll again from the weights after the step) is not DARTS's."""
    net, train, val = float64_supernet()
    w_opt, _ = optim.weight_optimizer(net, CONFIG)
    optim.weight_step(net, w_opt, val, grad_clip=None)
    arch = [p for ps in net.arch_parameters().values() for p in ps]
    second_order_grads(w_opt, train, CONFIG)(net, val, arch)
    darts = [a.grad.clone() for a in arch]
    optim.weight_step(net, w_opt, train, grad_clip=None)
    second_order_grads(w_opt, train, CONFIG)(net, val, arch)  # unrolled from the updated weights
    assert max(float((a.grad - d).abs().max()) for a, d in zip(arch, darts, strict=True)) > 1e-8


def steps_of(monkeypatch, *overrides: str) -> list[tuple[str, float]]:
    """Each weight and architecture step of a tiny one-epoch search: its kind and a checksum of
    the weights it starts from."""
    seen: list[tuple[str, float]] = []

    def spy(kind, original):
        def step(net, *args, **kwargs):
            weights = torch.cat([w.detach().flatten() for w in net.weight_parameters()])
            seen.append((kind, float(weights.double().sum())))
            return original(net, *args, **kwargs)

        return step

    monkeypatch.setattr(optim, "weight_step", spy("weights", optim.weight_step))
    monkeypatch.setattr(optim, "arch_steps", spy("arch", optim.arch_steps))
    recipe = tiny_recipe("search.epochs=1", "search.checkpoint_every_steps=null", *overrides)
    with one_thread():
        search(recipe, out=None, device="cpu")
    return seen


@pytest.mark.parametrize("order", ["first", "second"])
def test_arch_first_steps_the_architecture_on_the_pre_step_weights(monkeypatch, tmp_path, order):
    monkeypatch.chdir(tmp_path)
    seen = steps_of(monkeypatch, "search.step_order=arch_first", f"search.order={order}")
    kinds = [k for k, _ in seen]
    assert len(kinds) >= 4 and kinds == ["arch", "weights"] * (len(kinds) // 2)
    for (_, arch_w), (_, weight_w) in zip(seen[::2], seen[1::2], strict=True):
        assert arch_w == weight_w  # no weight step between them: the same weights
    assert seen[1][1] != seen[2][1]  # and each iteration's weight step moved them


def test_weights_first_is_algorithm_1(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    seen = steps_of(monkeypatch)
    kinds = [k for k, _ in seen]
    assert len(kinds) >= 4 and kinds == ["weights", "arch"] * (len(kinds) // 2)
    assert all(w != a for (_, w), (_, a) in zip(seen[::2], seen[1::2], strict=True))
