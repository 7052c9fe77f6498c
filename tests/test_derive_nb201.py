"""NAS-Bench-201 derivation: every edge kept, each the argmax over all operations, none included
(xautodl's ``genotype()``); in a factorized space each factor's argmax."""

from __future__ import annotations

import pytest
import torch

from factorspace.cells.nb201 import to_nb201_string
from factorspace.compile import Space, compile_supernet
from factorspace.derive import derive_from_weights, derive_genotype
from factorspace.errors import FactorspaceError
from factorspace.schema import SpaceConfig
from factorspace.schema.network import NB201SupernetConfig
from tests.nb201_reference import NB201_OPS, copy_to_xautodl, require_xautodl

KIND = ["none", "skip_connect", "nor_conv", "avg_pool_3x3"]


def space(mode: str, kernels: bool) -> Space:
    factors = [{"name": "op", "role": "operator", "choices": KIND if kernels else NB201_OPS}]
    if kernels:
        factors.append(
            {"name": "kernel", "role": "argument", "keyword": "kernel_size", "choices": [1, 3],
             "applies_to": {"choices": ["nor_conv"]}}
        )  # fmt: skip
    config = {"mode": mode, "factors": factors, "cell": {"kind": "nb201"}}
    return Space(SpaceConfig.model_validate(config))


def one_hot_rows(picks: list[int], width: int, strength: float = 0.6) -> list[list[float]]:
    """Per edge: ``strength`` on its pick, the rest shared."""
    rest = (1 - strength) / (width - 1)
    return [[strength if k == p else rest for k in range(width)] for p in picks]


def test_joint_takes_each_edges_argmax_none_included():
    picks = [0, 3, 1, 0, 4, 2]  # none on two edges, though another choice is close
    genotype = derive_from_weights(
        space("joint", False), {"normal": {"joint": one_hot_rows(picks, 5)}}
    )
    assert [e.op for e in genotype.normal.edges] == [NB201_OPS[p] for p in picks]
    assert genotype.family == "nb201" and genotype.normal.concat == [3]
    assert to_nb201_string(genotype) == (
        "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|"
    )


def test_factorized_takes_each_factors_argmax_the_kernel_only_on_convolutions():
    ops = one_hot_rows([2, 2, 1, 0, 2, 3], 4)
    kernels = one_hot_rows([0, 1, 1, 0, 1, 0], 2)  # edge 2's kernel is moot: skip_connect wins
    g = derive_from_weights(space("factorized", True), {"normal": {"op": ops, "kernel": kernels}})
    assert [(e.op, e.arguments) for e in g.normal.edges] == [
        ("nor_conv", {"kernel_size": 1}),
        ("nor_conv", {"kernel_size": 3}),
        ("skip_connect", {}),
        ("none", {}),
        ("nor_conv", {"kernel_size": 3}),
        ("avg_pool_3x3", {}),
    ]


def test_ties_go_to_the_first_choice():
    uniform = [[0.2] * 5 for _ in range(6)]
    genotype = derive_from_weights(space("joint", False), {"normal": {"joint": uniform}})
    assert {e.op for e in genotype.normal.edges} == {"none"}


def test_a_weights_record_of_another_shape_is_refused():
    with pytest.raises(FactorspaceError, match=r"has shape \[6, 4\]; the space needs \[6, 5\]"):
        derive_from_weights(space("joint", False), {"normal": {"joint": [[0.25] * 4] * 6}})
    with pytest.raises(FactorspaceError, match="the weights have no 'normal' cell"):
        derive_from_weights(space("joint", False), {"reduce": {"joint": [[0.2] * 5] * 6}})


def test_the_supernets_cell_is_xautodls_genotype():
    """The same architecture logits derive the same cell string in both codes."""
    reference = require_xautodl()
    torch.manual_seed(3)
    net = compile_supernet(
        space("joint", False), NB201SupernetConfig(channels=4, cells_per_stage=1)
    )
    theirs = reference["TinyNetworkDarts"](4, 1, 4, 10, NB201_OPS, False, False)
    for _ in range(5):
        with torch.no_grad():
            net.arch["normal"]["joint"].normal_()
        copy_to_xautodl(net, theirs)
        assert to_nb201_string(derive_genotype(net)) == theirs.genotype().tostr()
