"""random_smoothing: SDARTS-RS's perturbation of the weight step's architecture weights, checked
against the reference code's Random_alpha + clip() by hand, its epsilon schedule, and where it
acts (the weight step only)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from factorspace.errors import FactorspaceError
from factorspace.regularize import weight_step
from factorspace.regularize.smoothing import RandomSmoothing, smooth
from factorspace.schema import SearchConfig
from factorspace.search import optim
from factorspace.search.step import plain_iteration
from tests.regularize.conftest import tiny_net

SMOOTHING = [{"kind": "random_smoothing"}]


def test_clip_puts_a_perturbed_row_back_on_the_simplex():
    values = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    noise = torch.tensor([[0.6, -0.4, 0.1], [-0.3, -0.3, -0.8]])
    # row 1: [1.1, -0.1, 0.3] -> clamp [1, 0, 0.3] -> / 1.3
    # row 2: [-0.2, -0.1, -0.1] -> clamp all 0 -> 1 at the first largest perturbed entry (1)
    expected = torch.tensor([[1 / 1.3, 0.0, 0.3 / 1.3], [0.0, 1.0, 0.0]])
    torch.testing.assert_close(smooth(values, noise), expected)


@pytest.mark.parametrize(("epoch", "epsilon"), [(0, 0.03), (5, 0.165), (9, 0.273)])
def test_epsilon_grows_as_the_reference_code(epoch, epsilon):
    # 0.03 + (0.3 - 0.03) * epoch / epochs, epochs = 10
    net = tiny_net(regularizers=SMOOTHING)
    net.set_epoch(epoch, 10)
    assert net.regularization.groups["op"][0].epsilon == pytest.approx(epsilon)


def test_the_noise_is_uniform_in_the_epsilon_ball():
    r = RandomSmoothing(SearchConfig.model_validate({"regularizers": SMOOTHING}).regularizers[0])
    r.set_epoch(5, 10)
    noise = r.noise(torch.zeros(20000))
    assert float(noise.abs().max()) <= 0.165
    assert float(noise.max()) > 0.16 and float(noise.min()) < -0.16
    assert abs(float(noise.mean())) < 0.005


def test_the_weight_step_sees_softmax_plus_noise_clipped(monkeypatch):
    net = tiny_net(regularizers=SMOOTHING)

    def pattern(self, values):  # +0.02 everywhere, -0.05 on the first choice
        return torch.full_like(values, 0.02).index_fill(-1, torch.tensor([0]), -0.05)

    monkeypatch.setattr(RandomSmoothing, "noise", pattern)
    net.train()
    with weight_step(net):
        perturbed = net.forward_weights()
    for t in ("normal", "reduce"):
        for g in ("op", "activation"):
            p = F.softmax(net.arch[t][g].detach(), -1)  # about 1/8 or 1/9: nothing falls below 0
            noisy = p + 0.02
            noisy[:, 0] = p[:, 0] - 0.05
            expected = noisy / noisy.sum(-1, keepdim=True)
            torch.testing.assert_close(perturbed[t][g].values, expected)


def test_the_architecture_step_and_evaluation_see_the_softmax():
    net = tiny_net(regularizers=SMOOTHING)
    net.train()
    plain = net.forward_weights()  # outside the weight step: an architecture step's
    net.eval()
    with weight_step(net):
        evaluated = net.forward_weights()
    for t in ("normal", "reduce"):
        for g in ("op", "activation"):
            softmax = F.softmax(net.arch[t][g], -1)
            torch.testing.assert_close(plain[t][g].values, softmax, rtol=0, atol=0)
            torch.testing.assert_close(evaluated[t][g].values, softmax, rtol=0, atol=0)


def test_one_draw_per_group_and_cell_in_the_weight_step_only(monkeypatch, batch):
    net = tiny_net(regularizers=SMOOTHING, regularizer_overrides={"activation": []})
    calls = []
    original = RandomSmoothing.perturb
    monkeypatch.setattr(
        RandomSmoothing, "perturb", lambda self, w: calls.append(1) or original(self, w)
    )
    config = SearchConfig()
    w_opt, _ = optim.weight_optimizer(net, config)
    plain_iteration(
        net, w_opt, optim.arch_optimizers(net, config), batch, batch, config, torch.device("cpu")
    )
    assert len(calls) == 2  # the weight step's forward: op in the normal and the reduce cell


def test_a_sampling_relaxation_is_refused():
    with pytest.raises(FactorspaceError, match="regularizer_overrides.activation: \\[\\]"):
        tiny_net(regularizers=SMOOTHING, relaxation_overrides={"activation": {"kind": "gumbel"}})
