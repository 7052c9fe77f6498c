"""Derivation: DARTS's rule on hand-set weights, in both modes, over N factors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import factorspace as fs
from factorspace.compile import Space, compile_supernet
from factorspace.derive import derive_from_weights, derive_genotype
from factorspace.genotype import check_genotype
from factorspace.registry import OPERATORS, register_operator
from factorspace.schema import SpaceConfig
from tests.conftest import DARTS_OPS, RECIPES, paper_space, tiny_supernet_of

ACTS = ["relu", "selu", "elu"]
EDGES = 14  # 4 nodes: node t has t inputs; edge index = offset of t + source
OFFSET = {2: 0, 3: 2, 4: 5, 5: 9}


def _weights(choices: list[str], default: float, settings: dict) -> torch.Tensor:
    """[14, len(choices)] filled with ``default``; ``settings[(source, target)] = {choice: w}``."""
    w = torch.full((EDGES, len(choices)), default)
    for (source, target), values in settings.items():
        for choice, value in values.items():
            w[OFFSET[target] + source, choices.index(choice)] = value
    return w


def _edges(cell) -> list[tuple]:
    return [(e.op, e.source, e.target, e.inputs) for e in cell.edges]


RELU, SELU, ELU = ({"activation": a} for a in ACTS)

# Normal cell, hand-ranked:
#  node 2: sep_conv_3x3 from 0 (0.6) beats skip from 1 (0.3; its `none` 0.9 does not count)
#  node 3: dil_conv_5x5 from 1 (0.7), max_pool from 0 (0.2); node 2's `none` 0.95 never kept
#  node 4: a tie at 0.5: avg_pool from 1 before sep_conv_5x5 from 3 (DARTS's stable sort)
#  node 5: `none` strongest everywhere: skip from 4 (0.4), dil_conv_3x3 from 2 (0.3)
NORMAL_OP = {
    (0, 2): {"sep_conv_3x3": 0.6},
    (1, 2): {"none": 0.9, "skip_connect": 0.3},
    (0, 3): {"max_pool_3x3": 0.2},
    (1, 3): {"dil_conv_5x5": 0.7},
    (2, 3): {"none": 0.95, "avg_pool_3x3": 0.1},
    (3, 4): {"sep_conv_5x5": 0.5},
    (1, 4): {"avg_pool_3x3": 0.5},
    **{(j, 5): {"none": 0.9} for j in range(5)},
}
NORMAL_OP[(4, 5)] = {"none": 0.9, "skip_connect": 0.4}
NORMAL_OP[(2, 5)] = {"none": 0.9, "dil_conv_3x3": 0.3}
NORMAL_ACT = {
    (0, 2): {"selu": 0.5},
    (1, 2): {"elu": 0.9},
    (1, 3): {"elu": 0.6},
    (2, 5): {"selu": 0.4},
}
NORMAL_EXPECTED = [
    ("sep_conv_3x3", 0, 2, SELU),
    ("skip_connect", 1, 2, {}),
    ("dil_conv_5x5", 1, 3, ELU),
    ("max_pool_3x3", 0, 3, {}),
    ("avg_pool_3x3", 1, 4, {}),
    ("sep_conv_5x5", 3, 4, RELU),  # all activation weights tie: the first choice
    ("skip_connect", 4, 5, {}),
    ("dil_conv_3x3", 2, 5, SELU),
]


def _hand_weights():
    reduce_op = _weights(DARTS_OPS, 0.05, {})
    reduce_op[:, DARTS_OPS.index("max_pool_3x3")] = 0.5  # every edge ties: sources 0, 1 kept
    return {
        "normal": {
            "op": _weights(DARTS_OPS, 0.05, NORMAL_OP),
            "activation": _weights(ACTS, 0.2, NORMAL_ACT),
        },
        "reduce": {"op": reduce_op, "activation": _weights(ACTS, 0.2, {})},
    }


def test_factorized_derivation_follows_darts_by_hand():
    space = Space(paper_space(activations=ACTS))
    g = derive_from_weights(space, _hand_weights(), name="hand", source="test")
    assert _edges(g.normal) == NORMAL_EXPECTED
    assert _edges(g.reduce) == [("max_pool_3x3", j, t, {}) for t in range(2, 6) for j in (0, 1)]
    assert g.normal.concat == g.reduce.concat == [2, 3, 4, 5]
    assert (g.name, g.source) == ("hand", "test")
    check_genotype(g, space)


def test_numpy_and_list_weights_derive_the_same():
    space = paper_space(activations=ACTS)
    weights = _hand_weights()
    expected = derive_from_weights(space, weights)
    as_numpy = {t: {f: w.numpy() for f, w in ws.items()} for t, ws in weights.items()}
    as_lists = {t: {f: w.tolist() for f, w in ws.items()} for t, ws in weights.items()}
    assert derive_from_weights(space, as_numpy) == derive_from_weights(space, as_lists) == expected


def test_none_is_never_kept_even_when_strongest_everywhere():
    space = Space(paper_space(activations=ACTS))
    op = torch.full((EDGES, len(DARTS_OPS)), 0.01)
    op[:, DARTS_OPS.index("none")] = 0.99
    weights = {t: {"op": op, "activation": torch.rand(EDGES, 3)} for t in ("normal", "reduce")}
    g = derive_from_weights(space, weights)
    assert all(e.op != "none" for cell in (g.normal, g.reduce) for e in cell.edges)
    check_genotype(g, space)


@pytest.fixture
def nothing_op():
    """A zero-tagged operator not called `none`: zero is a tag, not a name."""
    register_operator("nothing", tags={"zero"})(lambda c, stride, affine: nn.Identity())
    yield "nothing"
    OPERATORS.remove("nothing")


def test_zero_is_found_by_tag(nothing_op):
    ops = ["skip_connect", nothing_op, "max_pool_3x3"]
    space = Space(
        SpaceConfig.model_validate(
            {"factors": [{"name": "op", "role": "operator", "choices": ops}], "cell": {"nodes": 2}}
        )
    )
    op = torch.tensor([[0.2, 0.7, 0.1]] * 5)
    g = derive_from_weights(space, {"normal": {"op": op}, "reduce": {"op": op}})
    assert {e.op for e in g.normal.edges} == {"skip_connect"}


def test_joint_mode_takes_the_strongest_candidate():
    space = Space(paper_space("joint", activations=["relu", "selu"]))
    labels = [c.label() for c in space.candidates]
    joint = _weights(
        labels,
        0.01,
        {(0, 2): {"none": 0.9, "sep_conv_3x3|selu": 0.3}, (1, 2): {"dil_conv_3x3|relu": 0.4}},
    )
    g = derive_from_weights(space, {"normal": {"joint": joint}, "reduce": {"joint": joint}})
    assert _edges(g.normal)[:3] == [
        ("dil_conv_3x3", 1, 2, {"activation": "relu"}),
        ("sep_conv_3x3", 0, 2, {"activation": "selu"}),
        ("max_pool_3x3", 0, 3, {}),  # ties: the first non-zero candidate, the first sources
    ]
    check_genotype(g, space)


ARG_SPACE = {
    "factors": [
        {"name": "op", "role": "operator", "choices": ["none", "skip_connect", "sep_conv"]},
        {"name": "activation", "role": "input", "choices": ["relu", "selu"],
         "applies_to": {"tags": ["parameterized", "skip"]}},
        {"name": "kernel", "role": "argument", "keyword": "kernel_size", "choices": [3, 5],
         "applies_to": {"choices": ["sep_conv"]}},
    ],
    "cell": {"nodes": 2, "keep": 1},
}  # fmt: skip


@pytest.mark.parametrize("mode", ["factorized", "joint"])
def test_arguments_are_written_by_keyword(mode):
    space = Space(SpaceConfig.model_validate({**ARG_SPACE, "mode": mode}))
    if mode == "joint":
        best = [c.label() for c in space.candidates].index("sep_conv|5|selu")
        joint = torch.zeros(5, len(space.candidates))
        joint[:, best] = 1.0
        weights = {"joint": joint}
    else:
        weights = {
            "op": torch.tensor([[0.1, 0.2, 0.7]] * 5),
            "activation": torch.tensor([[0.3, 0.7]] * 5),
            "kernel": torch.tensor([[0.4, 0.6]] * 5),
        }
    g = derive_from_weights(space, {"normal": weights, "reduce": weights})
    edge = g.normal.edges[0]
    assert (edge.op, edge.inputs, edge.arguments) == ("sep_conv", SELU, {"kernel_size": 5})
    check_genotype(g, space)


def test_fixed_factors_take_their_only_choice():
    space = Space(paper_space(activations=["relu"]))
    assert space.searched_factors == ["op"]
    op = _weights(DARTS_OPS, 0.05, NORMAL_OP)
    g = derive_from_weights(space, {"normal": {"op": op}, "reduce": {"op": op}})
    assert _edges(g.normal)[0] == ("sep_conv_3x3", 0, 2, RELU)


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_supernet_derivation_fits_every_recipe(path):
    recipe = fs.load_recipe(path)
    torch.manual_seed(0)
    net = compile_supernet(recipe.space, tiny_supernet_of(recipe))
    g = derive_genotype(net, name=path.stem)
    assert g == derive_from_weights(net.space, net.arch_weights(), name=path.stem)
    check_genotype(g, recipe.space)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda w: w.pop("reduce"), "the weights have no 'reduce' cell"),
        (lambda w: w["normal"].pop("activation"), "weights['normal'] has factors ['op']; the space searches ['op', 'activation']"),
        (lambda w: w["normal"].update(op=torch.zeros(14, 7)), "weights['normal']['op'] has shape [14, 7]; the space needs [14, 8]"),
        (lambda w: w["normal"].update(op=np.zeros(14)), "weights['normal']['op'] has shape [14]; the space needs [14, 8]"),
    ],
)  # fmt: skip
def test_mismatched_weights_are_refused(edit, expected):
    weights = _hand_weights()
    edit(weights)
    with pytest.raises(fs.FactorspaceError) as info:
        derive_from_weights(paper_space(activations=ACTS), weights)
    assert str(info.value).startswith(expected)
