"""`factorspace study` end to end at the tiny size: outputs, resumption after a kill, workers, submitit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from factorspace.errors import Interrupted
from factorspace.study import cell as cell_module
from factorspace.study import run_study
from factorspace.study.schema import PLACEHOLDER
from tests.search.tiny import one_thread
from tests.study.finished import read_csv, run_study_cli

HERE = Path(__file__).resolve().parent
STUDY = HERE / "tiny_study.yaml"  # 2 variants x 2 seeds, a few seconds a cell
CELLS = [("factorized", 0), ("factorized", 1), ("relu", 0), ("relu", 1)]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """Every run here in one thread, as each of two worker processes gets on 2 cores: the
    thread count changes the arithmetic, and the tests compare results across launchers."""
    with one_thread():
        yield


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return run_study_cli(STUDY, tmp_path_factory.mktemp("study") / "tiny")


def without_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if not k.endswith("_seconds")} for r in rows]


def test_a_study_leaves_run_directories_tables_and_a_plot(finished):
    out, output = finished
    rows = read_csv(out / "results.csv")
    assert [(r["variant"], int(r["seed"])) for r in rows] == CELLS
    for r in rows:
        cell = out / r["variant"] / f"seed_{r['seed']}"
        train_record = json.loads((cell / "train" / "run.json").read_text())
        assert train_record["status"] == "complete"
        assert float(r["test_acc"]) == train_record["test_acc"]
        assert float(r["test_error"]) == pytest.approx(1 - train_record["test_acc"])
        assert (cell / "search" / "genotype.json").is_file() and r["genotype"].endswith(".json")
        assert int(r["params"]) > 0 and int(r["macs"]) > 0
    summary = read_csv(out / "summary.csv")
    assert [s["variant"] for s in summary] == ["factorized", "relu"]
    assert [int(s["n"]) for s in summary] == [2, 2]
    errors = [float(r["test_error"]) for r in rows if r["variant"] == "relu"]
    assert float(summary[1]["test_error_mean"]) == pytest.approx(sum(errors) / 2)
    comparison = json.loads((out / "summary.json").read_text())["comparison"]
    assert (comparison["a"], comparison["b"]) == ("factorized", "relu")
    assert comparison["statement"] in output and "Welch t" in comparison["statement"]
    assert (out / "summary.png").stat().st_size > 0 and (out / "summary.pdf").is_file()
    assert output.count("cells done") == 4 and "[4/4] relu seed 1: test error" in output


def test_the_relu_variant_searches_relu_only(finished):
    out, _ = finished
    genotype = json.loads((out / "relu" / "seed_0" / "genotype.json").read_text())
    inputs = {v for cell in ("normal", "reduce") for e in genotype[cell]["edges"]
              for v in e.get("inputs", {}).values()}  # fmt: skip
    assert inputs <= {"relu"}


def test_a_killed_study_resumes_without_redoing_finished_cells(finished, tmp_path, monkeypatch):
    done, _ = finished
    out = tmp_path / "tiny"
    calls = {"search": [], "train": []}
    search, train = cell_module.search, cell_module.train

    def counted_search(recipe, **kw):
        calls["search"].append(kw["resume"])
        return search(recipe, **kw)

    def train_killed_in_third_cell(genotype, recipe, **kw):
        calls["train"].append(kw["resume"])
        if len(calls["train"]) == 3:
            raise Interrupted("killed")  # as Ctrl-C in the cell's re-training
        return train(genotype, recipe, **kw)

    monkeypatch.setattr(cell_module, "search", counted_search)
    monkeypatch.setattr(cell_module, "train", train_killed_in_third_cell)
    with pytest.raises(Interrupted):
        run_study(STUDY, out, device="cpu", print_line=lambda _: None)
    assert calls == {"search": [False] * 3, "train": [False] * 3}
    first = {c: (out / c[0] / f"seed_{c[1]}" / "result.json").stat().st_mtime_ns for c in CELLS[:2]}

    calls = {"search": [], "train": []}
    monkeypatch.setattr(cell_module, "train", lambda g, r, **kw: calls["train"].append(
        kw["resume"]) or train(g, r, **kw))  # fmt: skip
    lines = []
    run_study(STUDY, out, device="cpu", print_line=lines.append)
    # the 3rd cell's search is finished: only its re-training runs again, then the 4th cell
    assert calls == {"search": [False], "train": [False, False]}
    assert "[1/4] factorized seed 0: finished earlier" in lines
    for c, mtime in first.items():
        assert (out / c[0] / f"seed_{c[1]}" / "result.json").stat().st_mtime_ns == mtime
    assert without_times(read_csv(out / "results.csv")) == without_times(
        read_csv(done / "results.csv")
    )


def test_a_half_done_re_training_resumes_from_its_checkpoint(finished, tmp_path, monkeypatch):
    done, _ = finished
    out = tmp_path / "tiny"
    shutil.copytree(done, out)
    cell = out / "relu" / "seed_1"
    (cell / "result.json").unlink()
    record = cell / "train" / "run.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "status": "interrupted"}))
    resumed = []
    train = cell_module.train
    monkeypatch.setattr(cell_module, "train", lambda g, r, **kw: resumed.append(
        kw["resume"]) or train(g, r, **kw))  # fmt: skip
    run_study(STUDY, out, device="cpu", print_line=lambda _: None)
    assert resumed == [True]
    assert (
        read_csv(out / "results.csv")[3]["test_acc"]
        == read_csv(done / "results.csv")[3]["test_acc"]
    )


@pytest.mark.slow
def test_two_workers_give_the_results_of_one(finished, tmp_path):
    done, _ = finished
    out = tmp_path / "tiny"
    lines = []
    run_study(STUDY, out, device="cpu", workers=2, print_line=lines.append)
    assert without_times(read_csv(out / "results.csv")) == without_times(
        read_csv(done / "results.csv")
    )
    assert sum("cells done" in line for line in lines) == 4
    assert (out / "relu" / "seed_1.log").is_file()


@pytest.mark.slow
def test_submitit_local_executor_runs_the_cells(finished, tmp_path, monkeypatch):
    pytest.importorskip("submitit")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the jobs' processes: as the reference run
    done, _ = finished
    out = tmp_path / "tiny"
    run_study(STUDY, out, device="cpu", launcher="submitit",
              submitit_options={"cluster": "local", "timeout_min": 10}, print_line=lambda _: None)  # fmt: skip
    assert without_times(read_csv(out / "results.csv")) == without_times(
        read_csv(done / "results.csv")
    )


def test_placeholders_name_another_variants_search():
    assert PLACEHOLDER.findall("search.arch_overrides.activation.init_from={search:fact}") == [
        "fact"
    ]


@pytest.mark.slow
def test_a_sigkilled_study_continues_with_the_same_command(finished, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    done, _ = finished
    out = tmp_path / "tiny"
    command = [sys.executable, "-m", "factorspace", "study", str(STUDY), "--out", str(out),
               "--device", "cpu"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = out / "factorized" / "seed_0" / "result.json"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not first.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)  # no handler runs: as a lost machine
    process.wait()
    assert first.is_file() and not (out / "results.csv").exists()
    mtime = first.stat().st_mtime_ns
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "[1/4] factorized seed 0: finished earlier" in result.stdout
    assert first.stat().st_mtime_ns == mtime
    assert without_times(read_csv(out / "results.csv")) == without_times(
        read_csv(done / "results.csv")
    )
