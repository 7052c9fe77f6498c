"""dirichlet: DrNAS's sampled weights on the simplex, its KL term, derivation from the mean."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions import Dirichlet, kl_divergence

from factorspace.derive import derive_from_weights, derive_genotype
from factorspace.relax.dirichlet import Dirichlet as DirichletRelaxation
from factorspace.schema.relaxation import DirichletConfig
from factorspace.search import optim

from .conftest import tiny_net


def mean(logits: torch.Tensor) -> torch.Tensor:
    c = F.elu(logits) + 1
    return c / c.sum(-1, keepdim=True)


def test_training_weights_are_samples_on_the_simplex_with_pathwise_gradients():
    logits = torch.randn(14, 8, requires_grad=True)
    relax = DirichletRelaxation(DirichletConfig())
    torch.manual_seed(0)
    a = relax.train_weights(logits)
    b = relax.train_weights(logits)
    assert a.chosen is None  # every choice computed
    assert (a.values > 0).all()
    torch.testing.assert_close(a.values.sum(-1), torch.ones(14))
    assert not torch.equal(a.values, b.values)  # a fresh sample each forward
    (grad,) = torch.autograd.grad(a.values[:, 0].sum(), logits)
    assert (grad != 0).all()


def test_eval_weights_and_probabilities_are_the_dirichlet_mean():
    logits = torch.randn(3, 5)
    relax = DirichletRelaxation(DirichletConfig())
    torch.testing.assert_close(relax.probabilities(logits), mean(logits))
    torch.testing.assert_close(Dirichlet(F.elu(logits) + 1).mean, mean(logits))
    assert torch.equal(relax.eval_weights(logits).values, relax.probabilities(logits))


def test_loss_is_the_scaled_kl_to_the_prior_over_every_group_and_cell_type():
    net = tiny_net({"kind": "dirichlet", "prior": 2.0, "reg_scale": 0.01})
    with torch.no_grad():
        for p in net.arch.parameters():
            p.normal_()  # away from the initial 1e-3 * randn, so the KL is not ~0
    expected = 0
    for t in ("normal", "reduce"):
        for g in ("op", "activation"):
            c = F.elu(net.arch[t][g]) + 1
            expected += kl_divergence(Dirichlet(c), Dirichlet(torch.full_like(c, 2.0))).sum()
    torch.testing.assert_close(net.relaxation_loss(), 0.01 * expected)
    assert DirichletRelaxation(DirichletConfig(reg_scale=0)).loss(torch.zeros(2, 3)) is None


def test_the_architecture_step_descends_cross_entropy_plus_kl(batch):
    net = tiny_net({"kind": "dirichlet"}).eval()  # eval: the mean, so both passes agree
    loss, _ = optim.arch_loss_and_correct(net, batch)
    plain, _ = optim.loss_and_correct(net, batch)
    torch.testing.assert_close(loss, plain + net.relaxation_loss())


def test_derivation_and_records_use_the_mean():
    net = tiny_net({"kind": "dirichlet"})
    with torch.no_grad():
        for p in net.arch.parameters():
            p.normal_()
    means = {t: {g: mean(net.arch[t][g]) for g in ("op", "activation")} for t in net.arch}
    probs = net.arch_probabilities()
    for t in means:
        for g in means[t]:
            torch.testing.assert_close(probs[t][g], means[t][g])
    assert derive_genotype(net) == derive_from_weights(net.space, means)
