"""The planted-architecture benchmark: drawing, scoring, chance levels, and a seeded tiny run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from factorspace.evidence import chance_levels, draw_genotype, edge_picks, plant, score_genotype
from factorspace.evidence.plant import cells_used
from factorspace.genotype import Genotype, GenotypeCell, GenotypeEdge, check_fits_space
from factorspace.schema import Recipe
from factorspace.space import Space

SPACE = {
    "factors": [
        {
            "name": "op",
            "role": "operator",
            "choices": ["none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"],
        },
        {
            "name": "activation",
            "role": "input",
            "choices": ["relu", "selu"],
            "applies_to": {"factor": "op", "tags": ["parameterized"]},
        },
    ],
    "cell": {"nodes": 2, "keep": 2},
}


def recipe(**sections) -> Recipe:
    return Recipe.model_validate({"space": SPACE} | sections)


def space() -> Space:
    return Space(recipe().space)


def cell(*edges: tuple) -> GenotypeCell:
    """Edges as (source, target, op[, activation])."""
    return GenotypeCell(
        edges=[
            GenotypeEdge(source=s, target=t, op=op, inputs={"activation": a[0]} if a else {})
            for s, t, op, *a in edges
        ],
        concat=[2, 3],
    )


PLANTED = cell(
    (0, 2, "skip_connect"),
    (1, 2, "sep_conv_3x3", "relu"),
    (0, 3, "max_pool_3x3"),
    (2, 3, "sep_conv_3x3", "selu"),
)
FOUND = cell(
    (0, 2, "skip_connect"),
    (1, 2, "sep_conv_3x3", "selu"),
    (1, 3, "max_pool_3x3"),
    (2, 3, "sep_conv_3x3", "selu"),
)


def genotype(normal: GenotypeCell, reduce: GenotypeCell | None = None) -> Genotype:
    return Genotype(normal=normal, reduce=reduce or normal)


def scores(found, **kwargs) -> dict[str, tuple[int, int]]:
    result = score_genotype(space(), genotype(PLANTED), found, cells=["normal"], **kwargs)
    return {f: (s.matched, s.total) for f, s in result.items()}


# --- drawing ---------------------------------------------------------------------------------


def test_drawn_genotypes_fit_the_space_are_seeded_and_differ_across_seeds():
    drawn = [draw_genotype(space(), seed) for seed in range(6)]
    for g in drawn:
        check_fits_space(g, space())
        for c in (g.normal, g.reduce):
            assert [e.target for e in c.edges] == [2, 2, 3, 3]  # keep 2 per node
            assert all(e.op != "none" for e in c.edges)
    assert draw_genotype(space(), 3) == drawn[3]
    assert len({g.model_dump_json() for g in drawn}) == len(drawn)


# --- scores and chance -------------------------------------------------------------------------


def test_the_planted_genotype_scores_one_against_itself():
    assert scores(genotype(PLANTED)) == {"operator": (4, 4), "inputs": (4, 4), "activation": (2, 2)}


def test_a_different_genotype_scores_what_is_counted_by_hand():
    # inputs: node 2 keeps {0, 1} in both, node 3 {0, 2} vs {1, 2}: 3 of 4.
    # operator: (0, 3) max_pool was not kept and no weights say otherwise: 3 of 4.
    # activation, on the parameterized edges whose operator matched: (1, 2) relu/selu wrong,
    # (2, 3) selu right: 1 of 2.
    assert scores(genotype(FOUND)) == {"operator": (3, 4), "inputs": (3, 4), "activation": (1, 2)}


def test_weights_give_the_operator_of_a_planted_edge_the_genotype_did_not_keep():
    # edges in order (0,2) (1,2) (0,3) (1,3) (2,3); ops none, skip, max_pool, sep_conv
    op_rows = [
        [0.1, 0.6, 0.2, 0.1],
        [0.1, 0.1, 0.1, 0.7],
        [0.1, 0.1, 0.5, 0.3],
        [0.0, 0.1, 0.8, 0.1],
        [0.1, 0.1, 0.1, 0.7],
    ]
    act_rows = [[0.5, 0.5], [0.4, 0.6], [0.5, 0.5], [0.5, 0.5], [0.3, 0.7]]
    weights = {
        t: {"op": torch.tensor(op_rows), "activation": torch.tensor(act_rows)}
        for t in ("normal", "reduce")
    }
    picks = edge_picks(space(), weights)
    assert picks["normal"][2] == ("max_pool_3x3", {})
    assert picks["normal"][1] == ("sep_conv_3x3", {"activation": "selu"})
    assert scores(genotype(FOUND), picks=picks)["operator"] == (4, 4)


def test_chance_levels_of_a_small_space_by_hand():
    # 3 non-zero operators; node 2 keeps 2 of 2 inputs (always right), node 3 2 of 3 (2/3 on
    # average); 2 activations.
    assert chance_levels(space()) == pytest.approx(
        {"operator": 1 / 3, "inputs": (1 + 2 / 3) / 2, "activation": 1 / 2}
    )


def test_only_the_cell_types_the_network_has_are_scored():
    assert cells_used(recipe(supernet={"cells": 3})) == ["normal", "reduce"]
    assert cells_used(recipe(supernet={"cells": 2})) == ["reduce"]  # cells 0 and 1 both reduce
