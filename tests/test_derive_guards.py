"""Derivation under PC-DARTS's edge weights and P-DARTS's skip-connect cap; the early stop."""

from __future__ import annotations

import json

import pytest
import torch

import factorspace as fs
from factorspace.compile import Space, compile_supernet
from factorspace.derive import derive_from_weights, derive_genotype, skip_count
from factorspace.schema import SpaceConfig, SupernetConfig
from factorspace.search import search
from tests.conftest import DARTS_OPS, ROOT, paper_space

ACTS = ["relu", "selu"]
OFFSET = {2: 0, 3: 2, 4: 5, 5: 9}  # 4 nodes: edge index = OFFSET[target] + source


def table(choices: list[str], default: float, settings: dict) -> torch.Tensor:
    """[14, len(choices)] filled with ``default``; ``settings[(source, target)] = {choice: w}``."""
    w = torch.full((14, len(choices)), default)
    for (source, target), values in settings.items():
        for choice, value in values.items():
            w[OFFSET[target] + source, choices.index(choice)] = value
    return w


def edges(cell) -> list[tuple]:
    return [(e.op, e.source, e.target) for e in cell.edges]


def weights(normal_op: dict, normal_act: dict | None = None, reduce_op: dict | None = None):
    return {
        "normal": {
            "op": table(DARTS_OPS, 0.05, normal_op),
            "activation": table(ACTS, 0.5, normal_act or {}),
        },
        "reduce": {
            "op": table(DARTS_OPS, 0.05, reduce_op or {}),
            "activation": table(ACTS, 0.5, {}),
        },
    }


def edge_row(betas: dict) -> torch.Tensor:
    """[14] of edge weights; ``betas[(source, target)] = w``, the rest of each node uniform."""
    row = torch.zeros(14)
    for target, offset in OFFSET.items():
        row[offset : offset + target] = 1 / target
    for (source, target), value in betas.items():
        row[OFFSET[target] + source] = value
    return row


# --- PC-DARTS: edges ranked by operator weight x edge weight -----------------------------------

RANKED_OP = {
    (0, 2): {"sep_conv_3x3": 0.6},
    (1, 2): {"max_pool_3x3": 0.5},
    (0, 3): {"dil_conv_3x3": 0.7},
    (1, 3): {"avg_pool_3x3": 0.4},
    (2, 3): {"sep_conv_5x5": 0.3},
}
BETAS = {(0, 2): 0.2, (1, 2): 0.8, (0, 3): 0.1, (1, 3): 0.3, (2, 3): 0.6}


def test_edge_weights_rank_the_edges_as_pcdarts_does():
    space = Space(paper_space(activations=ACTS))
    w = weights(RANKED_OP)
    plain = derive_from_weights(space, w)
    assert edges(plain.normal)[:4] == [
        ("sep_conv_3x3", 0, 2),
        ("max_pool_3x3", 1, 2),
        ("dil_conv_3x3", 0, 3),  # 0.7 beats 0.4 and 0.3
        ("avg_pool_3x3", 1, 3),
    ]
    beta = {"normal": edge_row(BETAS), "reduce": edge_row({})}
    weighted = derive_from_weights(space, w, edge_weights=beta)
    assert edges(weighted.normal)[:4] == [
        ("max_pool_3x3", 1, 2),  # 0.5 * 0.8 = 0.40 before 0.6 * 0.2 = 0.12
        ("sep_conv_3x3", 0, 2),
        ("sep_conv_5x5", 2, 3),  # 0.18, 0.12; dil_conv_3x3 from 0: 0.07, dropped
        ("avg_pool_3x3", 1, 3),
    ]
    assert weighted.reduce == plain.reduce  # uniform edge weights change nothing


def test_supernet_derivation_uses_its_edge_weights():
    space = Space(paper_space(activations=ACTS))
    config = SupernetConfig(channels=4, cells=1, reduction_cells=[], edge_normalization=True)
    net = compile_supernet(space, config)
    w = weights(RANKED_OP)
    beta = {"normal": edge_row(BETAS), "reduce": edge_row({})}
    with torch.no_grad():
        for t in ("normal", "reduce"):
            for f, v in w[t].items():
                net.arch[t][f].copy_(v.log())
            net.arch[t]["edge"].copy_(beta[t].log())  # softmax per node gives beta back
    expected = derive_from_weights(space, w, edge_weights=beta)
    assert derive_genotype(net) == expected
    assert edges(expected.normal)[0] == ("max_pool_3x3", 1, 2)


def test_edge_weights_of_the_wrong_shape_are_refused():
    space = Space(paper_space(activations=ACTS))
    with pytest.raises(fs.FactorspaceError, match="must be 14 numbers"):
        derive_from_weights(
            space, weights({}), edge_weights={"normal": torch.ones(5), "reduce": torch.ones(14)}
        )


# --- P-DARTS: at most M skip-connects in the normal cell ---------------------------------------

SKIPPY_OP = {
    (0, 2): {"skip_connect": 0.6, "sep_conv_3x3": 0.3},
    (1, 2): {"skip_connect": 0.5, "max_pool_3x3": 0.2},
    (0, 3): {"skip_connect": 0.4, "dil_conv_3x3": 0.1},
    (1, 3): {"sep_conv_5x5": 0.35},
    (2, 3): {"avg_pool_3x3": 0.3},
    (2, 4): {"skip_connect": 0.45, "sep_conv_3x3": 0.25},
    (3, 4): {"dil_conv_5x5": 0.4},
    (4, 5): {"sep_conv_3x3": 0.5},
    (3, 5): {"max_pool_3x3": 0.45},
}
SKIPPY_ACT = {(2, 4): {"selu": 0.9}}
ALL_SKIP = {(j, t): {"skip_connect": 0.9} for t in OFFSET for j in range(t)}
UNCAPPED = [
    ("skip_connect", 0, 2),
    ("skip_connect", 1, 2),
    ("skip_connect", 0, 3),
    ("sep_conv_5x5", 1, 3),
    ("skip_connect", 2, 4),
    ("dil_conv_5x5", 3, 4),
    ("sep_conv_3x3", 4, 5),
    ("max_pool_3x3", 3, 5),
]


def test_skip_cap_replaces_the_weakest_skips_and_reranks_as_pdarts():
    space = Space(paper_space(activations=ACTS))
    w = weights(SKIPPY_OP, SKIPPY_ACT, ALL_SKIP)
    assert edges(derive_from_weights(space, w).normal) == UNCAPPED
    capped = derive_from_weights(space, w, max_skip_connects=2)
    assert edges(capped.normal) == [
        ("skip_connect", 0, 2),
        ("skip_connect", 1, 2),
        # (0, 3) lost its skip (0.4, the weakest); its dil_conv_3x3 (0.1) ranks last at node 3
        ("sep_conv_5x5", 1, 3),
        ("avg_pool_3x3", 2, 3),
        # then (2, 4) (0.45): its next-best, sep_conv_3x3 (0.25), with that edge's activation
        ("dil_conv_5x5", 3, 4),
        ("sep_conv_3x3", 2, 4),
        ("sep_conv_3x3", 4, 5),
        ("max_pool_3x3", 3, 5),
    ]
    assert capped.normal.edges[5].inputs == {"activation": "selu"}
    assert skip_count(capped.reduce) == 8  # the reduction cell is never capped


def test_skip_cap_of_zero_and_a_cap_already_met():
    space = Space(paper_space(activations=ACTS))
    w = weights(SKIPPY_OP, SKIPPY_ACT)
    none_left = derive_from_weights(space, w, max_skip_connects=0)
    assert skip_count(none_left.normal) == 0
    assert edges(none_left.normal)[:2] == [("sep_conv_3x3", 0, 2), ("max_pool_3x3", 1, 2)]
    assert derive_from_weights(space, w, max_skip_connects=4) == derive_from_weights(space, w)


def test_skip_cap_in_the_joint_mode_matches_the_factorized_one():
    joint = Space(paper_space("joint", activations=["relu"]))  # candidates = operators
    factorized = Space(paper_space(activations=["relu"]))
    op = table(DARTS_OPS, 0.05, SKIPPY_OP)
    for cap in (None, 2, 0):
        a = derive_from_weights(
            joint, {t: {"joint": op} for t in ("normal", "reduce")}, max_skip_connects=cap
        )
        b = derive_from_weights(
            factorized, {t: {"op": op} for t in ("normal", "reduce")}, max_skip_connects=cap
        )
        assert a == b, cap


def test_a_cap_that_cannot_be_met_says_so():
    space = SpaceConfig.model_validate(
        {
            "factors": [{"name": "op", "role": "operator", "choices": ["none", "skip_connect"]}],
            "cell": {"nodes": 2},
        }
    )
    w = {t: {"op": torch.full((5, 2), 0.5)} for t in ("normal", "reduce")}
    assert skip_count(derive_from_weights(space, w).normal) == 4
    with pytest.raises(fs.FactorspaceError, match="cannot keep 2 inputs of node 2 without skip"):
        derive_from_weights(space, w, max_skip_connects=1)


# --- early stop --------------------------------------------------------------------------------


def test_early_stop_after_the_warmup_when_skips_take_over(tmp_path):
    skip_first = [[5.0 if op == "skip_connect" else 0.0 for op in DARTS_OPS]] * 5
    arch = tmp_path / "skips.json"
    arch.write_text(json.dumps({"alphas": {t: {"op": skip_first} for t in ("normal", "reduce")}}))
    recipe = fs.load_recipe(
        ROOT / "recipes/adarts_cifar.yaml",
        [
            "supernet.channels=8",
            "supernet.cells=3",
            "space.cell.nodes=2",
            "search.epochs=3",
            "search.warmup_epochs=1",
            "search.batch_size=16",
            "search.early_stop_skip_count=2",
            "search.max_skip_connects=1",
            f"search.arch_overrides.op.init_from={arch}",
            "search.arch_overrides.op.frozen=true",
            "data.dataset=bundled",
            "data.subset_per_class=0.005",
            "data.workers=0",
            "data.image_size=8",
            "search.tensorboard=false",
        ],
    )
    result = search(recipe, out=tmp_path / "run", device="cpu")
    run = json.loads((result.run_dir / "run.json").read_text())
    assert result.status == run["status"] == "early_stopped"
    assert run["epochs_done"] == 2  # epoch 1 is warm-up: it never stops a search
    assert "4 skip-connects, more than search.early_stop_skip_count = 2" in run["early_stop"]
    assert [r["normal_skip_count"] for r in result.metrics] == [4, 4]  # uncapped: the signal
    assert skip_count(result.genotype.normal) == 1  # the final genotype is capped
    assert fs.genotype.load_genotype(result.run_dir / "genotype.json") == result.genotype
    resumed = search(recipe, out=result.run_dir, device="cpu", resume=True)
    assert resumed.status == "early_stopped" and len(resumed.metrics) == 2
