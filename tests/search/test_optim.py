"""The per-factor update rules on a hand-computed two-factor case."""

import pytest
import torch
from torch import nn

from factorspace.search.optim import arch_steps


class TwoFactors(nn.Module):
    """L = (a * b)^2 / 2: dL/da = a b^2, dL/db = a^2 b, so B's gradient depends on A."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(1.0))
        self.b = nn.Parameter(torch.tensor(2.0))


def grad_fn(net, val, params):
    loss = (net.a * net.b) ** 2 / 2
    for p, g in zip(params, torch.autograd.grad(loss, params), strict=True):
        p.grad = g
    return loss.detach(), 0


def run(update):
    net = TwoFactors()
    opts = {
        "A": torch.optim.SGD([net.a], lr=0.1),
        "B": torch.optim.SGD([net.b], lr=0.1),
    }
    arch_steps(net, opts, None, update=update, grad_fn=grad_fn)
    return net.a.item(), net.b.item()


def test_sequential_b_sees_a_new_value():
    # a1 = 1 - 0.1 * 1 * 2^2 = 0.6 ; b1 = 2 - 0.1 * 0.6^2 * 2 = 1.928
    assert run("sequential") == pytest.approx((0.6, 1.928))


def test_simultaneous_b_sees_a_old_value():
    # a1 = 0.6 ; b1 = 2 - 0.1 * 1^2 * 2 = 1.8
    assert run("simultaneous") == pytest.approx((0.6, 1.8))


def test_each_pass_computes_only_the_gradients_it_steps(tiny_supernet, images):
    from factorspace.compile import compile_supernet
    from factorspace.schema import SearchConfig
    from factorspace.search import optim
    from tests.conftest import paper_space

    net = compile_supernet(paper_space(), tiny_supernet, torch.device("cpu"))
    config = SearchConfig()
    batch = (images, torch.tensor([1, 2]))
    w_opt, _ = optim.weight_optimizer(net, config)
    optim.weight_step(net, w_opt, batch, grad_clip=5.0)
    assert all(p.grad is None for ps in net.arch_parameters().values() for p in ps)
    assert any(p.grad is not None for p in net.weight_parameters())

    w_opt.zero_grad(set_to_none=True)
    optim.arch_steps(net, optim.arch_optimizers(net, config), batch, update="sequential")
    assert all(p.grad is None for p in net.weight_parameters())
    assert all(p.grad is not None for ps in net.arch_parameters().values() for p in ps)


def test_an_architecture_pass_leaves_the_weights_trainable(tiny_supernet, images):
    from factorspace.compile import compile_supernet
    from factorspace.schema import SearchConfig
    from factorspace.search import optim
    from tests.conftest import paper_space

    net = compile_supernet(paper_space(), tiny_supernet, torch.device("cpu"))
    net.stem[0].weight.requires_grad_(False)  # a user's frozen weight stays frozen
    batch = (images, torch.tensor([1, 2]))
    optim.arch_steps(net, optim.arch_optimizers(net, SearchConfig()), batch, update="simultaneous")
    frozen = [p for p in net.weight_parameters() if not p.requires_grad]
    assert [id(p) for p in frozen] == [id(net.stem[0].weight)]
