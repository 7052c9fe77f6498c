"""The joint mode (the paper's non-factorized baseline): one module per candidate, as DARTS over
the 40 super-operators, or (``supernet.joint_weights: shared``) the modules shared as before."""

from __future__ import annotations

import copy
import types
from itertools import combinations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.compile.edge import (
    JointEdge,
    SharedJointEdge,
    SuperOperator,
    add_all,
    candidate_key,
    transform_key,
    weighted,
)
from factorspace.errors import RecipeError
from factorspace.schema import SearchConfig, SupernetConfig
from factorspace.summary import space_summary
from tests.conftest import ROOT, paper_space

TINY = SupernetConfig(channels=4, cells=2, reduction_cells=[1], classes=10)
NONFACTORIZED = ROOT / "recipes" / "nonfactorized_cifar.yaml"


def tiny_joint(joint_weights: str = "separate", search: SearchConfig | None = None):
    torch.manual_seed(0)
    config = TINY.model_copy(update={"joint_weights": joint_weights})
    return compile_supernet(paper_space("joint", nodes=2), config, "cpu", search)


def joint_edges(net) -> list[JointEdge]:
    return [m for m in net.modules() if isinstance(m, JointEdge)]


def loss_and_grads(net, batch):
    torch.manual_seed(5)  # RReLU draws its slopes in training
    loss = F.cross_entropy(net(batch[0]), batch[1])
    params = [p for p in net.parameters() if p.requires_grad]
    return loss, torch.autograd.grad(loss, params, allow_unused=True)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    return torch.randn(2, 3, 8, 8), torch.tensor([3, 7])


def test_separate_is_the_default_and_every_live_candidate_is_its_own_module():
    net = tiny_joint()
    assert SupernetConfig().joint_weights == "separate"
    live = [c for c in net.space.candidates if not c.is_zero]
    for edge in joint_edges(net):
        assert type(edge) is JointEdge
        assert list(edge.candidates) == [candidate_key(c) for c in live]  # 39, none left out
        prelu = edge.candidates["sep_conv_3x3__prelu"]
        assert isinstance(prelu, SuperOperator) and isinstance(prelu.inputs[0], nn.PReLU)


def test_candidates_of_an_edge_own_disjoint_parameters():
    for edge in joint_edges(tiny_joint()):
        owned = {k: {id(p) for p in m.parameters()} for k, m in edge.candidates.items()}
        for (a, pa), (b, pb) in combinations(owned.items(), 2):
            assert not pa & pb, (a, b)
        assert set().union(*owned.values()) == {id(p) for p in edge.parameters()}


def test_every_batchnorm_updates_its_running_statistics_once_per_step(batch):
    net = tiny_joint().train()
    ops = [c.op for e in joint_edges(net) for c in e.candidates.values()]
    trailing = [op[-1] for op in ops if isinstance(op, nn.Sequential)]  # convs and pools
    # per edge: 2 pools (with DARTS's BN) and 4 convs x 9 activations end in a non-affine BN
    assert len(trailing) == (2 + 4 * 9) * len(joint_edges(net))
    assert all(isinstance(bn, nn.BatchNorm2d) and not bn.affine for bn in trailing)
    calls = []
    for bn in trailing:
        bn.register_forward_hook(lambda *_: calls.append(1))
    net(batch[0])
    counts = {int(m.num_batches_tracked) for m in net.modules() if isinstance(m, nn.BatchNorm2d)}
    assert counts == {1}
    assert calls == []  # each edge weight was folded into its candidate's BatchNorm (weighted)


def test_shared_batchnorms_are_called_once_per_activation_variant(batch):
    """The shared variant's known cost: a conv's BN serves its nine activation variants."""
    net = tiny_joint("shared").train()
    net(batch[0])
    for edge in joint_edges(net):
        assert int(edge.ops["sep_conv_3x3"][-1].num_batches_tracked) == 9
        assert int(edge.ops["max_pool_3x3"][-1].num_batches_tracked) == 1


def test_separate_edge_is_the_weighted_sum_of_its_candidates():
    """DARTS's mixed op over super-operators: sum_k w_k * op_k(act_k(x)), none left out."""
    net = tiny_joint().eval()
    edge = joint_edges(net)[0]
    space = net.space
    torch.manual_seed(2)
    x = torch.randn(2, 4, 8, 8)
    w = torch.softmax(torch.randn(len(space.candidates)), -1)
    expected = 0
    for k, c in enumerate(space.candidates):
        if not c.is_zero:
            m = edge.candidates[candidate_key(c)]
            expected = expected + w[k] * m.op(m.inputs(x))
    torch.testing.assert_close(edge(x, {"joint": w}), expected)


def old_joint_forward(self, x, weights, chosen=None):
    """The joint edge before separate weights (commit f1e6427's ``JointEdge.forward``), copied:
    the shared variant must compute exactly this."""
    w = weights.get(self.group)
    pick = (chosen or {}).get(self.group)
    inputs = {(): x}
    terms = []
    for k, c in enumerate(self.space.candidates):
        if c.is_zero or (pick is not None and k != pick):
            continue
        chain = c.inputs
        for n in range(1, len(chain) + 1):
            if chain[:n] not in inputs:
                inputs[chain[:n]] = self.transforms[transform_key(*chain[n - 1])](
                    inputs[chain[: n - 1]]
                )
        terms.append(weighted(self.ops[fs.compile.edge.op_key(c)], inputs[chain], w[k]))
    return add_all(terms)


def test_shared_variant_computes_what_the_previous_implementation_did(batch):
    net = tiny_joint("shared").train()
    old = copy.deepcopy(net)
    for edge in joint_edges(old):
        edge.forward = types.MethodType(old_joint_forward, edge)
    loss, grads = loss_and_grads(net, batch)
    old_loss, old_grads = loss_and_grads(old, batch)
    assert torch.equal(loss, old_loss)
    assert all(torch.equal(a, b) for a, b in zip(grads, old_grads, strict=True))
    new_state, old_state = net.state_dict(), old.state_dict()
    assert all(torch.equal(new_state[k], old_state[k]) for k in old_state)  # running stats too


def test_shared_variant_has_the_factorized_supernets_modules():
    """Before separate weights, the joint supernet's weights were the factorized space's
    (1,930,842 for nonfactorized_cifar.yaml at f1e6427, `factorspace space --json`)."""
    shared = tiny_joint("shared")
    torch.manual_seed(0)
    factorized = compile_supernet(paper_space(nodes=2), TINY)
    weights = {k for k in shared.state_dict() if not k.startswith("arch.")}
    assert weights == {k for k in factorized.state_dict() if not k.startswith("arch.")}
    n = sum(p.numel() for p in shared.weight_parameters())
    assert n == sum(p.numel() for p in factorized.weight_parameters())
    assert all(type(e) is SharedJointEdge for e in joint_edges(shared))


@pytest.mark.parametrize("joint_weights", ["separate", "shared"])
def test_a_factorized_space_ignores_joint_weights(joint_weights, batch):
    torch.manual_seed(0)
    default = compile_supernet(paper_space(nodes=2), TINY)
    torch.manual_seed(0)
    config = TINY.model_copy(update={"joint_weights": joint_weights})
    other = compile_supernet(paper_space(nodes=2), config)
    assert list(default.state_dict()) == list(other.state_dict())
    assert torch.equal(loss_and_grads(default, batch)[0], loss_and_grads(other, batch)[0])


def test_gumbel_on_a_joint_space_computes_one_candidate_per_edge(batch):
    search = SearchConfig.model_validate({"relaxation": {"kind": "gumbel"}})
    net = tiny_joint(search=search).train()
    torch.manual_seed(5)
    sampled = net.forward_weights()
    ran: dict[tuple[int, int], list[str]] = {}
    for c, cell in enumerate(net.cells):
        for k, edge in enumerate(cell.edges):
            for key, m in edge.candidates.items():
                first = next(x for x in m.modules() if not list(x.children()))
                first.register_forward_hook(
                    lambda *_, at=(c, k), key=key: ran.setdefault(at, []).append(key)
                )
    torch.manual_seed(5)  # the same draws again
    net(batch[0])
    expected = {}
    for c, cell in enumerate(net.cells):
        chosen = sampled["reduce" if cell.reduction else "normal"]["joint"].chosen
        for k in range(len(cell.edges)):
            candidate = net.space.candidates[chosen[k]]
            if not candidate.is_zero:
                expected[(c, k)] = [candidate_key(candidate)]
    assert ran == expected


TINY_SETS = [
    "supernet.channels=4",
    "supernet.cells=2",
    "supernet.reduction_cells=[1]",
    "space.cell.nodes=2",
]


def tiny_recipe(*overrides: str):
    return fs.load_recipe(NONFACTORIZED, [*TINY_SETS, *overrides])


@pytest.mark.parametrize("configured", ["separate", "shared"])
def test_space_summary_counts_both_variants_as_built(configured):
    recipe = tiny_recipe(f"supernet.joint_weights={configured}")
    summary = space_summary(recipe, measure_memory=False)
    counts = {}
    for variant in ("separate", "shared"):
        config = recipe.supernet.model_copy(update={"joint_weights": variant})
        net = compile_supernet(recipe.space, config)
        counts[variant] = sum(p.numel() for p in net.weight_parameters())
    assert summary["joint_weights"] == configured
    assert summary["supernet_weights"] == counts[configured]
    assert summary["supernet_weights_separate"] == counts["separate"]
    assert summary["supernet_weights_shared"] == counts["shared"]
    assert counts["separate"] > counts["shared"]


def test_space_summary_of_a_factorized_space_has_no_joint_keys():
    recipe = fs.load_recipe(ROOT / "recipes" / "quickstart.yaml", ["supernet.cells=2"])
    summary = space_summary(recipe, measure_memory=False)
    assert not {"joint_weights", "supernet_weights_separate", "supernet_weights_shared"} & set(
        summary
    )


def test_space_command_says_which_variant_each_count_is():
    from typer.testing import CliRunner

    from factorspace.cli import app

    args = ["space", str(NONFACTORIZED), *(a for s in TINY_SETS for a in ("--set", s))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    shared = space_summary(tiny_recipe(), measure_memory=False)["supernet_weights_shared"]
    assert "joint_weights          separate (the count above)" in result.output
    assert f"shared variant         {shared:,} (--set supernet.joint_weights=shared)" in (
        result.output
    )


def test_an_unknown_joint_weights_is_refused_naming_the_field():
    with pytest.raises(RecipeError, match=r"supernet\.joint_weights: Input should be 'separate'"):
        tiny_recipe("supernet.joint_weights=both")
