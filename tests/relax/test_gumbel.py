"""gumbel: GDAS's hard Gumbel-softmax, one computed path per edge, the annealed temperature."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from factorspace.compile.edge import op_key
from factorspace.relax.gumbel import Gumbel
from factorspace.schema.relaxation import GumbelConfig
from tests.conftest import ACTIVATIONS, DARTS_OPS

from .conftest import call_counts, tiny_net


def test_training_weights_are_one_hot_at_the_sample_with_the_softmax_gradient():
    logits = torch.randn(5, 4, requires_grad=True)
    gumbel = Gumbel(GumbelConfig())
    torch.manual_seed(3)
    w = gumbel.train_weights(logits)
    assert torch.equal(w.values.detach(), F.one_hot(torch.tensor(w.chosen), 4).float())
    # the straight-through gradient is the tempered softmax's: d w[k, c] / d logits[k]
    torch.manual_seed(3)
    g = -torch.empty_like(logits).exponential_().log()
    p = F.softmax((logits.log_softmax(-1) + g) / gumbel.tau, dim=-1)
    assert w.chosen == p.argmax(-1).tolist()
    upstream = torch.randn(5, 4)
    (ours,) = torch.autograd.grad(w.values, logits, upstream)
    (expected,) = torch.autograd.grad(p, logits, upstream)
    torch.testing.assert_close(ours, expected)


def test_eval_weights_are_the_argmax_one_hot_and_probabilities_the_softmax():
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]])
    gumbel = Gumbel(GumbelConfig())
    w = gumbel.eval_weights(logits)
    assert w.chosen == [1, 0]
    assert torch.equal(w.values, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    assert torch.equal(gumbel.probabilities(logits), F.softmax(logits, dim=-1))


@pytest.mark.parametrize(("epochs", "first", "last"), [(50, 10.0, 0.1), (2, 5.0, 1.0)])
def test_temperature_falls_linearly_from_tau_max_to_tau_min(epochs, first, last):
    gumbel = Gumbel(GumbelConfig(tau_max=first, tau_min=last))
    assert gumbel.tau == first  # before any epoch
    taus = []
    for epoch in range(epochs):
        gumbel.set_epoch(epoch, epochs)
        taus.append(gumbel.tau)
    assert taus[0] == first and taus[-1] == pytest.approx(last, abs=1e-12)
    steps = [a - b for a, b in itertools.pairwise(taus)]
    assert steps == pytest.approx([(first - last) / (epochs - 1)] * (epochs - 1))


def test_default_schedule_is_gdas_10_to_0_1_and_one_epoch_keeps_tau_max():
    gumbel = Gumbel(GumbelConfig())
    gumbel.set_epoch(0, 1)
    assert gumbel.tau == 10.0
    gumbel.set_epoch(24, 25)
    assert gumbel.tau == pytest.approx(0.1)


@pytest.mark.parametrize("mode", ["factorized", "joint"])
def test_only_the_sampled_candidate_of_each_edge_runs(batch, mode):
    net = tiny_net({"kind": "gumbel"}, mode=mode)
    torch.manual_seed(5)
    sampled = net.forward_weights()
    counts, handles = call_counts(net)
    torch.manual_seed(5)  # the same draws again
    net(batch[0])
    for h in handles:
        h.remove()
    space = net.space
    expected = {}
    for c, cell in enumerate(net.cells):
        w = sampled["reduce" if cell.reduction else "normal"]
        for k in range(len(cell.edges)):
            if mode == "joint":
                candidate = space.candidates[w["joint"].chosen[k]]
            else:
                op = DARTS_OPS[w["op"].chosen[k]]
                act = ACTIVATIONS[w["activation"].chosen[k]]
                candidate = next(
                    x
                    for x in space.candidates_of(op)
                    if dict(x.inputs).get("activation", act) == act
                )
            if candidate.is_zero:
                continue
            expected[(c, k, "ops", op_key(candidate))] = 1
            for factor, choice in candidate.inputs:
                expected[(c, k, "transforms", f"{factor}__{choice}")] = 1
    assert counts == expected


def test_every_operator_logit_gets_a_gradient_and_activations_where_they_applied(batch):
    net = tiny_net({"kind": "gumbel"})
    torch.manual_seed(5)
    sampled = net.forward_weights()
    torch.manual_seed(5)
    F.cross_entropy(net(batch[0]), batch[1]).backward()
    parameterized = {i for i, op in enumerate(DARTS_OPS) if "conv" in op}
    for t in ("normal", "reduce"):
        assert (net.arch[t]["op"].grad != 0).all()
        applied = torch.tensor([c in parameterized for c in sampled[t]["op"].chosen])
        act_grad = net.arch[t]["activation"].grad
        assert (act_grad[applied] != 0).all()
        assert (act_grad[~applied] == 0).all()  # not mixed on that edge: no straight-through term


def test_eval_forward_is_deterministic_and_runs_the_argmax_path(batch):
    net = tiny_net({"kind": "gumbel"}).eval()
    with torch.no_grad():
        assert torch.equal(net(batch[0]), net(batch[0]))
    assert all(w.chosen is not None for ws in net.forward_weights().values() for w in ws.values())
