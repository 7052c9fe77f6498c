"""Searches over NAS-Bench-201's space at test size: every epoch's cell looked up in the
benchmark's table, every relaxation and update, resume, several seeds, report and render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import factorspace as fs
from factorspace.cells.nb201 import to_nb201_string
from factorspace.evidence import nb201
from factorspace.genotype import check_genotype, load_genotype
from factorspace.run.rundir import RunDir
from factorspace.search import search
from factorspace.search.multiseed import search_seeds
from tests.search.tiny import assert_same_alphas, final_alphas, interrupt_at, one_thread

TINY = Path(__file__).with_name("nb201_tiny.yaml")
LOOKUP = ["nb201_arch", "nb201_cifar10", "nb201_cifar100", "nb201_imagenet16_120"]

pytestmark = pytest.mark.slow


def recipe(*overrides: str) -> fs.Recipe:
    return fs.load_recipe(TINY, list(overrides))


def rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("nb201") / "run"
    with one_thread():
        return search(recipe(), out=run_dir, device="cpu")


def test_every_epoch_records_its_cells_lookup(finished):
    table = nb201.load_table()
    for row in rows(finished.run_dir):
        genotype = load_genotype(RunDir(finished.run_dir).epoch_genotype(row["epoch"]))
        arch = to_nb201_string(genotype)
        record = table.lookup(arch)
        assert row["nb201_arch"] == arch
        assert [row[k] for k in LOOKUP[1:]] == [
            record.cifar10,
            record.cifar100,
            record.imagenet16_120,
        ]
    header = (finished.run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[-4:] == LOOKUP


def test_the_final_cell_fits_the_space_and_its_accuracy_is_printed(finished):
    genotype = load_genotype(finished.run_dir / "genotype.json")
    assert genotype.family == "nb201" and genotype == finished.genotype
    check_genotype(genotype, recipe().space)
    arch = to_nb201_string(genotype)
    table = nb201.load_table()
    expected = (
        f"derived cell {arch}: NB201 CIFAR-10 {table.lookup(arch).cifar10:.2f} % "
        f"(rank {table.rank(arch):,} of 15,625)"
    )
    log = (finished.run_dir / "run.log").read_text()
    assert expected in log
    beside = "beside it on CIFAR-10: a random cell 87.06 % on average (median 90.75, 90th "
    assert beside + "percentile 92.93), the best cell 94.37 %" in log  # the table's, fixed
    record = json.loads((finished.run_dir / "arch" / "epoch_002.json").read_text())
    assert list(record["weights"]) == ["normal"]  # one cell type
    assert record["edges"] == [list(e) for e in nb201.EDGES]


def test_report_and_render_draw_the_run(finished, tmp_path):
    from factorspace.viz.render import render_genotype
    from factorspace.viz.report import write_report

    write_report(finished.run_dir, formats=("png",))
    assert (finished.run_dir / "report.html").is_file()
    paths = render_genotype(finished.genotype, tmp_path / "cells.svg", fmt="gv")
    assert [p.name for p in paths] == ["cells_normal.gv"]
    assert "0 -> 1" in paths[0].read_text()


@pytest.mark.parametrize(
    "overrides",
    [
        ["search.relaxation.kind=gumbel", "space.mode=joint"],
        ["search.relaxation.kind=dirichlet", "search.update=simultaneous"],
        [
            "search.relaxation.kind=gumbel",
            "search.update=sequential",
            "search.step_order=arch_first",
        ],
    ],
    ids=["gdas-joint", "drnas-simultaneous", "gdas-factorized-arch-first"],
)
def test_every_relaxation_and_update_searches_it(tmp_path, overrides):
    with one_thread():
        result = search(recipe("search.epochs=1", *overrides), out=tmp_path / "run", device="cpu")
    (row,) = rows(result.run_dir)
    assert row["nb201_arch"] == to_nb201_string(result.genotype)
    assert 0 < row["nb201_cifar10"] <= 100


def test_an_interrupted_search_resumes_to_the_same_end(finished, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    interrupt_at(monkeypatch, 13)  # in the second epoch (10 steps an epoch)
    with one_thread(), pytest.raises(fs.errors.Interrupted):
        search(recipe(), out=run_dir, device="cpu")
    monkeypatch.undo()
    with one_thread():
        search(recipe(), out=run_dir, device="cpu", resume=True)
    assert_same_alphas(final_alphas(run_dir), final_alphas(finished.run_dir))
    assert rows(run_dir)[-1]["nb201_arch"] == rows(finished.run_dir)[-1]["nb201_arch"]


def test_seeds_summarise_each_cells_lookup(tmp_path):
    with one_thread():
        parent = search_seeds(recipe("search.epochs=1"), [0, 1], out=tmp_path / "s", device="cpu")
    summary = json.loads((parent / "summary.json").read_text())
    for run in summary["runs"]:
        assert run["nb201_arch"] == rows(parent / f"seed_{run['seed']}")[-1]["nb201_arch"]
        assert run["parameters"] > 0  # the benchmark's network of the cell, C16 N5
    header = (parent / "summary.csv").read_text().splitlines()[0].split(",")
    assert set(LOOKUP) <= set(header) and "normal" in header and "reduce" not in header
