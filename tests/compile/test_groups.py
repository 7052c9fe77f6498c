"""The mode as data: the space's architecture groups, read by edge building and derivation."""

from __future__ import annotations

import torch

import factorspace as fs
from factorspace.compile import Space, compile_supernet
from factorspace.compile.edge import EDGE_TYPES, FactorizedEdge, JointEdge, build_edge
from factorspace.derive import RULES
from factorspace.schema import SupernetConfig
from factorspace.schema.space import JOINT_GROUP, Mode
from tests.conftest import ACTIVATIONS, DARTS_OPS, ROOT, paper_space


def test_factorized_groups_are_the_factors_with_a_choice_to_make():
    space = Space(paper_space())
    assert space.groups == {"op": DARTS_OPS, "activation": ACTIVATIONS}
    assert Space(paper_space(activations=["relu"])).groups == {"op": DARTS_OPS}
    assert [space.arch_width(g) for g in space.searched_factors] == [8, 9]


def test_joint_has_one_group_of_every_candidate_by_label():
    space = Space(paper_space("joint", activations=["relu", "elu"]))
    assert list(space.groups) == [JOINT_GROUP]
    labels = space.groups[JOINT_GROUP]
    assert labels == [c.label() for c in space.candidates]
    assert labels[:4] == ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect"]
    assert labels[4:6] == ["sep_conv_3x3|relu", "sep_conv_3x3|elu"]


def test_every_mode_has_an_edge_type_and_a_derivation_rule():
    modes = set(Mode.__args__)
    assert set(EDGE_TYPES) == modes and set(RULES) == modes
    assert isinstance(build_edge(Space(paper_space()), 4, 1), FactorizedEdge)
    assert isinstance(build_edge(Space(paper_space("joint")), 4, 1), JointEdge)


def test_supernet_parameters_follow_the_groups():
    recipe = fs.load_recipe(ROOT / "recipes" / "conv3_cifar.yaml")
    net = compile_supernet(recipe.space, SupernetConfig(channels=4, cells=1, reduction_cells=[]))
    shapes = {g: [tuple(p.shape) for p in ps] for g, ps in net.arch_parameters().items()}
    edges = net.space.edges_per_cell
    assert shapes == {g: [(edges, len(c))] * 2 for g, c in net.space.groups.items()}


def test_a_hard_pick_computes_one_candidate_and_passes_the_others_gradient():
    """GDAS's forward: ``w[k] * op_k(x)`` plus the other weights, zero in value."""
    space = Space(paper_space(activations=["relu"]))
    torch.manual_seed(0)
    edge = build_edge(space, 4, 1).eval()
    x = torch.randn(2, 4, 8, 8)
    logits = torch.randn(8, requires_grad=True)
    p = torch.softmax(logits, -1)
    k = DARTS_OPS.index("sep_conv_3x3")
    w = torch.nn.functional.one_hot(torch.tensor(k), 8).float() + (p - p.detach())
    out = edge(x, {"op": w}, {"op": k})
    torch.testing.assert_close(out, edge.ops["sep_conv_3x3"](torch.relu(x)))
    out.sum().backward()
    assert (logits.grad != 0).all()
    none = DARTS_OPS.index("none")
    w = torch.nn.functional.one_hot(torch.tensor(none), 8).float() + (p - p.detach())
    assert torch.equal(edge(x, {"op": w}, {"op": none}), torch.zeros_like(x))
