"""The planted-architecture benchmark: drawing, scoring, chance levels, and a seeded tiny run."""

from __future__ import annotations

import json

import pytest
import torch

from factorspace.data import search_loaders
from factorspace.evidence import chance_levels, draw_genotype, edge_picks, plant, score_genotype
from factorspace.evidence.plant import cells_used
from factorspace.evidence.teacher import student_view
from factorspace.genotype import Genotype, GenotypeCell, GenotypeEdge, check_fits_space
from factorspace.schema import Recipe
from factorspace.schema.data import DataConfig
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


def test_the_teacher_sees_what_the_search_loaders_feed_the_supernet(tmp_path):
    images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    torch.save({"images": images, "labels": torch.arange(10) % 2}, tmp_path / "d.pt")
    config = DataConfig(dataset="tensors", root=tmp_path / "d.pt", image_size=8, augment=False)
    data = search_loaders(config, 5, seed=0)
    rows = data.val_indices
    loaded = torch.stack([data.val.dataset[i][0] for i in range(len(rows))])
    assert torch.allclose(loaded, student_view(images[rows], config), atol=1e-6)


# --- a seeded tiny run -------------------------------------------------------------------------

TINY = {
    "supernet": {"channels": 4, "cells": 3, "classes": 4},
    "search": {
        "epochs": 4,
        "warmup_epochs": 1,
        "batch_size": 25,
        "tensorboard": False,
        "arch": {"lr": 0.03},
    },
    "data": {
        "dataset": "bundled",
        "subset_per_class": 0.01,
        "image_size": 8,
        "workers": 0,
        "augment": False,
    },
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plant")
    return plant(recipe(**TINY), [0, 1], out=out / "run", device="cpu")


def test_a_tiny_run_writes_its_results_and_searches_through_the_normal_path(tiny_run):
    saved = json.loads((tiny_run.out / "plant.json").read_text())
    assert saved["mean"] == pytest.approx(tiny_run.mean(), nan_ok=True)
    assert saved["chance"] == pytest.approx(chance_levels(space()))
    csv = (tiny_run.out / "plant.csv").read_text().splitlines()
    assert csv[0] == "seed,factor,matched,total,recovered,chance"
    assert [r.split(",")[:2] for r in csv[-3:]] == [
        ["mean", f] for f in ("operator", "inputs", "activation")
    ]
    for s in tiny_run.seeds:
        assert (s.run_dir / "genotype.json").exists()
        assert s.scores["operator"].total == 8  # 4 planted edges in each of 2 cell types
        assert sum(s.class_counts) == 150  # 1% of the bundled 15,000
        data = torch.load(s.run_dir.parent / "data.pt", weights_only=True)
        assert torch.bincount(data["labels"], minlength=4).tolist() == s.class_counts
    assert tiny_run.seeds[0].planted != tiny_run.seeds[1].planted
