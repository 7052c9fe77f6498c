"""`factorspace study` with `evaluate: nb201`: each derived cell looked up, no re-training."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from factorspace.evidence import nb201
from factorspace.evidence.nb201_published import parameter_free_edges
from factorspace.study.lookup import summarize_lookups
from tests.study.finished import read_csv, run_study_cli

HERE = Path(__file__).resolve().parent
STUDY = HERE / "nb201_tiny_study.yaml"  # 2 variants x 2 seeds, 1 epoch of a tiny NB201 search
CELLS = [("factorized", 0), ("factorized", 1), ("joint", 0), ("joint", 1)]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return run_study_cli(STUDY, tmp_path_factory.mktemp("study") / "nb201")


def test_each_cell_is_the_searched_cell_looked_up_without_re_training(finished):
    out, output = finished
    rows = read_csv(out / "results.csv")
    assert [(r["variant"], int(r["seed"])) for r in rows] == CELLS
    table = nb201.load_table()
    for r in rows:
        cell = out / r["variant"] / f"seed_{r['seed']}"
        assert not (cell / "train").exists()
        last = json.loads((cell / "search" / "metrics.jsonl").read_text().splitlines()[-1])
        assert r["nb201_arch"] == last["nb201_arch"]  # the search's last epoch: the same cell
        record = table.lookup(r["nb201_arch"])
        assert float(r["nb201_cifar10"]) == record.cifar10 == last["nb201_cifar10"]
        assert float(r["nb201_imagenet16_120"]) == record.imagenet16_120
        assert int(r["nb201_cifar10_rank"]) == table.rank(r["nb201_arch"])
        assert int(r["parameter_free_edges"]) == parameter_free_edges(r["nb201_arch"])
        assert float(r["search_cpu_seconds"]) > 0
        assert f"{r['variant']} seed {r['seed']}: NB201 CIFAR-10 " in output


def test_the_summary_gives_mean_and_std_per_data_set_and_the_random_baselines(finished):
    out, output = finished
    rows, summary = read_csv(out / "results.csv"), read_csv(out / "summary.csv")
    assert [s["variant"] for s in summary] == ["factorized", "joint"]
    for s in summary:
        mine = [r for r in rows if r["variant"] == s["variant"]]
        for d in nb201.DATASETS:
            values = [float(r[f"nb201_{d}"]) for r in mine]
            assert float(s[f"nb201_{d}_mean"]) == pytest.approx(statistics.fmean(values), abs=1e-4)
            assert float(s[f"nb201_{d}_std"]) == pytest.approx(statistics.stdev(values), abs=1e-4)
        cpu = statistics.fmean(float(r["search_cpu_seconds"]) for r in mine)
        k = max(1, round(round(cpu, 1) / 0.5))  # the study file's cell_train_seconds
        assert int(s["random_k"]) == k
        assert float(s["best_of_k_cifar10"]) == pytest.approx(nb201.load_table().best_of_random(k))
    result = json.loads((out / "summary.json").read_text())
    assert result["metric"] == "nb201_cifar10" and result["cell_train_seconds"] == 0.5
    assert result["random_cells"]["nb201_cifar10"]["best"] == 94.3733
    statement = result["comparison"]["statement"]
    assert statement.startswith("factorized vs joint: NB201 CIFAR-10 test accuracy ")
    assert statement in output and "best of K = " in output
    for name in ("summary.png", "summary.pdf", "curves.png", "curves.pdf"):
        assert (out / name).stat().st_size > 0


def test_one_seed_leaves_the_std_empty_and_k_needs_cpu_seconds():
    from factorspace.study.lookup import SUMMARY_FIELDS
    from factorspace.study.results import csv_text

    row = {"variant": "a", "seed": 0, "search_seconds": 10.0, "search_cpu_seconds": None,
           "nb201_cifar10": 90.0, "nb201_cifar100": 70.0, "nb201_imagenet16_120": 40.0,
           "parameter_free_edges": 2}  # fmt: skip
    (summary,) = summarize_lookups([row], ["a"], cell_train_seconds=5.0)
    assert summary["nb201_cifar10_std"] is None and summary["random_k"] is None
    line = csv_text([summary], SUMMARY_FIELDS).splitlines()[1]
    cells = dict(zip(SUMMARY_FIELDS, line.split(","), strict=True))
    assert cells["n"] == "1" and cells["nb201_cifar10_std"] == "" and cells["random_k"] == ""
    (timed,) = summarize_lookups([row | {"search_cpu_seconds": 26.0}], ["a"], 5.0)
    assert timed["random_k"] == 5  # round(26 / 5)


def test_the_results_page_script_writes_the_table_and_the_protocols_readings(
    finished, tmp_path, monkeypatch
):
    import importlib.util
    import sys

    from tests.conftest import ROOT

    out, _ = finished
    spec = importlib.util.spec_from_file_location(
        "nb201_study_readme", ROOT / "scripts" / "nb201_study_readme.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    docs = tmp_path / "docs"
    monkeypatch.setattr(sys, "argv", ["x", str(STUDY), str(out), "--out", str(docs)])
    script.main()
    readme = (docs / "README.md").read_text()
    summary = read_csv(out / "summary.csv")
    c10 = float(summary[0]["nb201_cifar10_mean"])
    assert f"| factorized | 2 | {c10:.2f} ± " in readme
    assert "| the best cell (the table) |  | 94.37 | 73.51 | 47.31 |" in readme
    assert "- factorized vs joint: NB201 CIFAR-10 test accuracy " in readme
    assert readme.count(" seeds collapsed, ") == 2 and "| joint | 1 | " in readme
    rows = read_csv(out / "results.csv")  # the study's cell beside the curve's last epoch
    r = rows[0]
    assert f"| {r['variant']} | {r['seed']} | " in readme
    assert f" | {float(r['nb201_cifar10']):.2f} |\n" in readme
    assert {p.name for p in docs.iterdir()} == {
        "README.md",
        "results.csv",
        "summary.csv",
        "summary.json",
        "summary.png",
        "curves.png",
    }


def test_the_results_page_compares_each_methods_factorized_and_joint_variants():
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location(
        "nb201_study_readme", ROOT / "scripts" / "nb201_study_readme.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    variants = ["darts_joint", "darts_factorized", "beta_joint", "beta_factorized", "es_factorized"]
    assert script.compared_pairs(variants, ("beta_joint", "darts_joint")) == [
        ("beta_joint", "darts_joint"),
        ("darts_factorized", "darts_joint"),
        ("beta_factorized", "beta_joint"),
    ]  # es_factorized has no es_joint: not paired
