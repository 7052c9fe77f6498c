"""beta_decay: beta-DARTS's term, lambda(e) * mean over edges of logsumexp(alpha), per group,
written out by hand against the reference code's mlc_loss and its 50 * epoch / 100 schedule."""

from __future__ import annotations

import math

import pytest
import torch

from factorspace.search import optim
from tests.regularize.conftest import tiny_net


def set_logits(net, group: str, normal: float, reduce: float) -> None:
    with torch.no_grad():
        net.arch["normal"][group].fill_(normal)
        net.arch["reduce"][group].fill_(reduce)


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [(0, 0.0), (10, 5.0), (99, 49.5), (150, 50.0)],  # 50 * epoch / 100, held at 50 after 100
)
def test_lambda_grows_as_the_reference_code(epoch, expected):
    net = tiny_net(regularizers=[{"kind": "beta_decay"}])
    net.set_epoch(epoch, 200)
    (r,) = net.regularization.groups["op"]
    assert r.coefficient == pytest.approx(expected)


def test_lambda_over_the_searchs_epochs_when_the_ramp_is_null():
    net = tiny_net(regularizers=[{"kind": "beta_decay", "ramp_epochs": None, "coefficient": 10}])
    net.set_epoch(5, 20)
    assert net.regularization.groups["op"][0].coefficient == pytest.approx(2.5)


def test_the_term_is_the_mean_smoothmax_of_each_group(batch):
    # normal op logits all 0: log(8 * e^0) = 3 ln 2 per edge; reduce all ln 2: log(8 * 2) = 4 ln 2
    net = tiny_net(regularizers=[{"kind": "beta_decay"}])
    set_logits(net, "op", 0.0, math.log(2))
    set_logits(net, "activation", 0.0, 0.0)  # 9 choices: ln 9 per edge in both cells
    net.set_epoch(10, 50)  # lambda = 5
    expected = 5 * (3 * math.log(2) + 4 * math.log(2)) / 2 + 5 * math.log(9)
    assert float(net.regularization_loss().detach()) == pytest.approx(expected, rel=1e-6)
    with torch.no_grad():  # each pass from one seed: RReLU's random slopes equal in both
        torch.manual_seed(0)
        ce, _ = optim.loss_and_correct(net, batch)
        torch.manual_seed(0)
        loss, _ = optim.arch_loss_and_correct(net, batch)
    assert float(loss) == pytest.approx(float(ce) + expected, rel=1e-5)  # float32 sums


def test_an_override_leaves_a_group_out_and_epoch_0_adds_nothing():
    net = tiny_net(regularizers=[{"kind": "beta_decay"}], regularizer_overrides={"activation": []})
    assert list(net.regularization.groups) == ["op"]
    set_logits(net, "op", 0.0, 0.0)
    net.set_epoch(20, 50)  # lambda = 10
    assert float(net.regularization_loss().detach()) == pytest.approx(10 * math.log(8), rel=1e-6)
    net.set_epoch(0, 50)
    assert net.regularization_loss() is None  # lambda 0: no term, the loss is DARTS's


def test_its_gradient_is_lambda_softmax_over_the_edges():
    # d/d alpha_k of mean_e logsumexp(alpha_e) = softmax(alpha_e)_k / edges (both cells: 2 * 5)
    net = tiny_net(regularizers=[{"kind": "beta_decay"}], regularizer_overrides={"activation": []})
    net.set_epoch(30, 50)  # lambda = 15
    (grad,) = torch.autograd.grad(net.regularization_loss(), [net.arch["normal"]["op"]])
    expected = 15 * torch.softmax(net.arch["normal"]["op"].detach(), -1) / 10
    torch.testing.assert_close(grad, expected)


def test_joint_mode_has_one_group():
    net = tiny_net("joint", regularizers=[{"kind": "beta_decay"}])
    assert list(net.regularization.groups) == ["joint"]
