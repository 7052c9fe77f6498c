"""Several seeds of one recipe: a run per seed and a summary comparing them."""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from typer.testing import CliRunner

import factorspace as fs
from factorspace.cli import app
from factorspace.genotype import Genotype, GenotypeCell, GenotypeEdge
from factorspace.search.multiseed import network_parameters, parse_seeds, search_seeds
from tests.conftest import ROOT

TINY = [
    "supernet.channels=8",
    "supernet.cells=3",
    "space.cell.nodes=2",
    "search.epochs=1",
    "search.batch_size=16",
    "data.dataset=bundled",
    "data.subset_per_class=0.005",
    "data.workers=0",
    "data.image_size=8",
    "search.tensorboard=false",
]


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory):
    recipe = fs.load_recipe(ROOT / "recipes/adarts_cifar.yaml", TINY)
    parent = tmp_path_factory.mktemp("seeds") / "adarts"
    return recipe, search_seeds(recipe, [0, 1], out=parent, device="cpu")


def test_one_run_per_seed_and_a_summary(two_seeds):
    recipe, parent = two_seeds
    assert sorted(p.name for p in parent.iterdir()) == [
        "seed_0",
        "seed_1",
        "summary.csv",
        "summary.json",
    ]
    summary = json.loads((parent / "summary.json").read_text())
    assert summary["seeds"] == [0, 1] and summary["recipe"] == "adarts_cifar"
    for seed, run in zip([0, 1], summary["runs"], strict=True):
        assert run["seed"] == seed and run["status"] == "complete" and run["epochs"] == 1
        on_disk = fs.genotype.load_genotype(parent / f"seed_{seed}" / "genotype.json")
        assert Genotype.model_validate(run["genotype"]) == on_disk
        assert isinstance(run["parameters"], int) and run["parameters"] > 100_000
        assert run["normal_skip_count"] == fs.derive.skip_count(on_disk.normal)
        assert set(run["entropy"]) == {"op", "activation"}
        assert all(len(v) == 1 and 0 < v[0] <= 1 for v in run["entropy"].values())
        recorded = yaml.safe_load((parent / f"seed_{seed}" / "recipe.yaml").read_text())
        assert recorded["search"]["seed"] == seed


def test_choice_counts_per_edge_position(two_seeds):
    _, parent = two_seeds
    summary = json.loads((parent / "summary.json").read_text())
    counts = summary["choice_counts"]
    # 2 cells x (node 2: 2 ranks + node 3: 2 ranks)
    assert [(c["cell"], c["target"], c["rank"]) for c in counts] == [
        (cell, target, rank)
        for cell in ("normal", "reduce")
        for target in (2, 3)
        for rank in (0, 1)
    ]
    for position in counts:
        assert sum(position["op"].values()) == 2  # one pick per seed
        assert sum(position["source"].values()) == 2
        parameterized = sum(
            n
            for op, n in position["op"].items()
            if "parameterized" in fs.registry.OPERATORS.get(op).tags
        )
        assert sum(position.get("activation", {}).values()) == parameterized
    first = counts[0]
    picked = [Genotype.model_validate(r["genotype"]).normal.edges[0].op for r in summary["runs"]]
    assert first["op"] == {op: picked.count(op) for op in picked}


def test_summary_csv_has_a_row_per_seed(two_seeds):
    _, parent = two_seeds
    rows = list(csv.DictReader((parent / "summary.csv").open()))
    assert [r["seed"] for r in rows] == ["0", "1"]
    assert {"status", "parameters", "normal_skip_count", "entropy_op", "normal", "reduce"} <= set(
        rows[0]
    )


def test_resume_keeps_finished_seeds(two_seeds):
    recipe, parent = two_seeds
    before = (parent / "seed_0" / "run.json").read_text()
    assert search_seeds(recipe, [0, 1], out=parent, device="cpu", resume=True) == parent
    assert (parent / "seed_0" / "run.json").read_text() == before


def test_a_non_empty_parent_is_refused(two_seeds):
    recipe, parent = two_seeds
    with pytest.raises(fs.FactorspaceError, match="already exists and is not empty"):
        search_seeds(recipe, [0], out=parent, device="cpu")


def test_parse_seeds():
    assert parse_seeds("0, 1,2") == [0, 1, 2]
    with pytest.raises(fs.FactorspaceError, match="'x' is not an integer"):
        parse_seeds("0,x")
    with pytest.raises(fs.FactorspaceError, match="repeats a seed"):
        parse_seeds("1,1")


def test_cli_refuses_seed_with_seeds():
    result = CliRunner().invoke(
        app, ["search", str(ROOT / "recipes/adarts_cifar.yaml"), "--seed", "1", "--seeds", "0,1"]
    )
    assert result.exit_code == 2 and "--seed and --seeds" in result.output


def test_a_network_that_cannot_be_built_has_no_parameter_count():
    edge = GenotypeEdge(source=0, target=2, op="sep_conv_3x3", inputs={"activation": "nope"})
    cell = GenotypeCell(edges=[edge, edge.model_copy(update={"source": 1})], concat=[2])
    parameters, error = network_parameters(Genotype(normal=cell, reduce=cell))
    assert parameters is None and "nope" in error
