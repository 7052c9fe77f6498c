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


def grad_fn(net, val):
    loss = (net.a * net.b) ** 2 / 2
    loss.backward()
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
