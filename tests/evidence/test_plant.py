"""The planted-architecture benchmark: drawing, scoring, chance levels, and a seeded tiny run."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from typer.testing import CliRunner

from factorspace.cli import app
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


# Recovery vs chance at this size, measured on seeds 0-5 (2026-12-01, /tmp runs of this TINY
# recipe; docs/evidence.md has the plant_tiny runs): operator 15/48 = 0.31 (chance 0.33), inputs
# 41/48 = 0.85 (0.83), activation 2/5 (0.5). No factor beats chance, so no margin can be
# asserted honestly: this test pins what a user relies on instead, that a seed fixes the
# benchmark (the same genotype, labels, search and scores), and docs/evidence.md says the
# search does not recover planted architectures at CPU sizes.
def test_a_seed_fixes_the_planted_genotype_the_labels_and_the_scores(tiny_run, tmp_path):
    again = plant(recipe(**TINY), [1], out=tmp_path / "again", device="cpu").seeds[0]
    first = tiny_run.seeds[1]
    assert again.planted == first.planted
    assert again.class_counts == first.class_counts
    assert (again.found.normal, again.found.reduce) == (first.found.normal, first.found.reduce)
    assert again.scores == first.scores


# --- the command ---------------------------------------------------------------------------------


def test_the_command_prints_json_and_refuses_a_genotype_that_does_not_fit(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({"space": SPACE} | TINY))
    result = CliRunner().invoke(
        app,
        [
            "plant",
            str(path),
            "--seeds",
            "0",
            "--json",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads((tmp_path / "run" / "plant.json").read_text())
    assert set(printed["mean"]) == {"operator", "inputs", "activation"}
    bad = CliRunner().invoke(
        app, ["plant", str(path), "--genotype", "darts_v2", "--out", str(tmp_path / "x")]
    )
    assert bad.exit_code == 2
    assert "darts_v2: normal.edges[4].target: no node 4" in bad.stderr  # DARTS's 4-node cell
    assert not (tmp_path / "x").exists()


def test_the_table_shows_matches_beside_shares_and_the_cells_planted_and_found(
    tiny_run, monkeypatch
):
    import io
    import shutil

    from rich.console import Console

    from factorspace.cli import plant as command
    from factorspace.search.progress import genotype_line

    screen = io.StringIO()
    monkeypatch.setattr(command, "out", Console(file=screen, width=200, color_system=None))
    drawings = command.draw_seeds(tiny_run)
    command.print_result(tiny_run, drawings)
    text = screen.getvalue()
    first, second = tiny_run.seeds
    for score in ("operator", "inputs", "activation"):
        a, b = first.scores[score], second.scores[score]
        unit = "inputs" if score == "inputs" else "edges"
        assert f"{a.matched} of {a.total} {unit[:-1] if a.total == 1 else unit} (" in text
        assert f"{b.matched} of {b.total} " in text
    assert "inputs: the inputs (earlier nodes) each node keeps that are the planted ones" in text
    for seed in tiny_run.seeds:
        assert f"normal  planted  {genotype_line(seed.planted, 'normal')}" in text
        assert f"reduce  found    {genotype_line(seed.found, 'reduce')}" in text
    if shutil.which("dot") is None:
        assert drawings == []
        return
    assert drawings == [
        tiny_run.out / f"seed_{s.seed}" / "planted_vs_found.png" for s in tiny_run.seeds
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in drawings)
