"""The compiler: candidates, counts, DARTS conventions, forward/backward."""

from collections import Counter

import pytest
import torch

import factorspace as fs
from factorspace.compile import Space, compile_supernet
from factorspace.schema import SupernetConfig
from tests.conftest import RECIPES, paper_space, tiny_supernet_of


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_compiles_and_runs(path, images):
    recipe = fs.load_recipe(path)
    net = compile_supernet(recipe.space, tiny_supernet_of(recipe))
    logits = net(images)
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()
    logits.logsumexp(-1).sum().backward()
    for factor, params in net.arch_parameters().items():
        for p in params:
            assert p.grad is not None and p.grad.abs().sum() > 0, factor


def test_darts_search_supernet_has_the_reference_weight_count():
    recipe = fs.load_recipe("recipes/darts_cifar.yaml")
    net = compile_supernet(recipe.space, SupernetConfig(channels=16, cells=8, classes=10))
    assert sum(p.numel() for p in net.weight_parameters()) == 1_930_618


def test_space_sizes_match_the_paper():
    darts = Space(paper_space(activations=["relu"]))
    adarts = Space(paper_space())
    assert f"{darts.space_size():.1e}" == "1.1e+18"
    assert f"{adarts.space_size():.1e}" == "9.3e+29"
    assert darts.kept_choices_per_edge == 7 and adarts.kept_choices_per_edge == 39


def test_joint_mode_has_40_candidates_per_edge_and_one_group(tiny_supernet):
    space = Space(paper_space("joint"))
    assert len(space.candidates) == 9 * 4 + 4 == 40
    net = compile_supernet(space, tiny_supernet)
    assert {f: [tuple(p.shape) for p in ps] for f, ps in net.arch_parameters().items()} == {
        "joint": [(14, 40), (14, 40)]
    }


def test_factorized_mode_has_one_group_per_searched_factor(tiny_supernet):
    net = compile_supernet(paper_space(), tiny_supernet)
    shapes = {f: [tuple(p.shape) for p in ps] for f, ps in net.arch_parameters().items()}
    assert shapes == {"op": [(14, 8), (14, 8)], "activation": [(14, 9), (14, 9)]}


def test_single_choice_factor_is_fixed(tiny_supernet):
    net = compile_supernet(paper_space(activations=["selu"]), tiny_supernet)
    assert list(net.arch_parameters()) == ["op"]


def test_three_factor_recipe_candidate_counts():
    space = Space(fs.load_recipe("recipes/conv3_cifar.yaml").space)
    assert len(space.candidates) == 4 + 3 * 3 * 9 == 85
    assert space.kept_choices_per_edge == 84
    assert {f: space.arch_width(f) for f in space.searched_factors} == {
        "op": 7,
        "kernel_size": 3,
        "activation": 9,
    }


def test_arch_parameters_are_apart_from_weights(tiny_supernet):
    net = compile_supernet(paper_space(), tiny_supernet)
    arch = {id(p) for ps in net.arch_parameters().values() for p in ps}
    weights = {id(p) for p in net.weight_parameters()}
    assert not arch & weights
    assert arch | weights == {id(p) for p in net.parameters()}


def count_calls(net, kinds):
    calls = Counter()
    for module in net.modules():
        if isinstance(module, kinds):
            module.register_forward_hook(lambda m, i, o: calls.update([type(m).__name__]))
    return calls


def test_mixed_activation_is_computed_once_per_edge(images):
    net = compile_supernet(paper_space(), SupernetConfig(channels=4, cells=1, reduction_cells=[]))
    calls = count_calls(net, (torch.nn.SELU, torch.nn.PReLU))
    net(images)
    # 1 cell x 14 edges: each activation runs once per edge, shared by the 4 convolutions
    assert calls == {"SELU": 14, "PReLU": 14}


def test_each_operator_runs_once_per_edge_and_none_never(images):
    net = compile_supernet(paper_space(), SupernetConfig(channels=4, cells=1, reduction_cells=[]))
    calls = count_calls(net, (torch.nn.MaxPool2d, fs.ops.Zero))
    net(images)
    assert calls == {"MaxPool2d": 14}


def test_fixed_relu_supernet_equals_darts_style_mixed_op(images):
    """With relu fixed, an edge computes sum_o w_o * o(relu(x)) for convs, as DARTS does."""
    space = Space(paper_space(activations=["relu"]))
    net = compile_supernet(space, SupernetConfig(channels=4, cells=1, reduction_cells=[])).eval()
    edge = net.cells[0].edges[0]
    x = torch.randn(2, 4, 8, 8)
    w = torch.softmax(torch.randn(8), -1)
    expected = sum(
        w[i] * edge.ops[op](torch.relu(x) if i >= 4 else x)
        for i, op in enumerate(space.config.operator.choices)
        if op != "none"
    )
    torch.testing.assert_close(edge(x, {"op": w}), expected)


def test_factorized_edge_follows_eqs_1_and_2_with_an_argument_factor():
    """out = sum_o w_o * sum_k w_k * o_k(sigma(x)), sigma(x) = sum_a w_a * a(x) (eq. 2), with the
    argument factor's weights multiplying the operator's (a combination's weight is the product)."""
    from factorspace.compile.edge import op_key

    space = Space(fs.load_recipe("recipes/conv3_cifar.yaml").space)
    net = compile_supernet(space, SupernetConfig(channels=4, cells=1, reduction_cells=[])).eval()
    edge = net.cells[0].edges[3]
    x = torch.randn(2, 4, 8, 8)
    torch.manual_seed(1)
    w = {f: torch.softmax(torch.randn(space.arch_width(f)), -1) for f in space.searched_factors}
    acts = space.config.factor("activation").choices
    sigma = sum(
        w["activation"][k] * edge.transforms[f"activation__{a}"](x) for k, a in enumerate(acts)
    )
    expected = 0
    seen = set()
    for c in space.candidates:
        if c.is_zero or op_key(c) in seen:
            continue
        seen.add(op_key(c))
        coef = w["op"][space.config.operator.choices.index(c.op)]
        for f, v in c.arguments:
            coef = coef * w[f][space.config.factor(f).choices.index(v)]
        expected = expected + coef * edge.ops[op_key(c)](sigma if c.inputs else x)
    assert len(seen) == 3 + 3 * 3
    torch.testing.assert_close(edge(x, w), expected, rtol=1e-4, atol=1e-5)
