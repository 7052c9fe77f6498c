"""The thread policy: the cores a process was given, split between its workers."""

import pytest
import torch
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.run import threads
from factorspace.run.threads import (
    available_cores,
    cgroup_cores,
    env_threads,
    threads_per_worker,
    use_threads,
)
from tests.search.tiny import one_thread


def test_the_tightest_of_affinity_cgroup_omp_and_the_request():
    assert available_cores(env={}, affinity=16, cpu_max="max 100000") == 16
    assert available_cores(env={}, affinity=16, cpu_max="400000 100000") == 4
    assert available_cores(env={"OMP_NUM_THREADS": "3"}, affinity=16, cpu_max="") == 3
    assert available_cores(env={"OMP_NUM_THREADS": "8"}, affinity=2, cpu_max="") == 2
    assert available_cores(env={}, affinity=16, cpu_max="", requested=5) == 5
    # --threads lowers the count, never raises it past the cores given
    assert available_cores(env={}, affinity=4, cpu_max="", requested=8) == 4
    assert available_cores(env={"OMP_NUM_THREADS": "2"}, affinity=8, cpu_max="", requested=6) == 2


def test_cgroup_quota_rounds_up_and_max_is_no_limit():
    assert cgroup_cores("150000 100000\n") == 2
    assert cgroup_cores("50000 100000") == 1
    assert cgroup_cores("max 100000") is None and cgroup_cores("") is None


def test_omp_num_threads_counts_only_as_a_positive_integer():
    assert env_threads({"OMP_NUM_THREADS": " 4 "}) == 4
    assert env_threads({"OMP_NUM_THREADS": "0"}) is None
    assert env_threads({"OMP_NUM_THREADS": "four"}) is None
    assert env_threads({}) is None


def test_the_system_values_are_read_when_not_given(monkeypatch, tmp_path):
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("300000 100000\n")
    monkeypatch.setattr(threads, "CPU_MAX", cpu_max)
    monkeypatch.setattr(threads, "affinity_cores", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert available_cores() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert available_cores() == 2


def test_workers_share_the_cores_without_oversubscribing():
    for workers, cores in [(1, 16), (4, 16), (3, 16), (2, 2), (2, 3)]:
        each = threads_per_worker(workers, cores)
        assert each * workers <= cores and each == cores // workers
    assert threads_per_worker(4, 2) == 1  # more workers than cores: one thread each


def test_study_threads_are_the_same_functions():
    from factorspace.study import threads as study_threads

    assert study_threads.available_cores is available_cores
    assert study_threads.threads_per_worker is threads_per_worker


@pytest.fixture
def restored_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_use_threads_sets_torch(monkeypatch, tmp_path, restored_threads):
    monkeypatch.setattr(threads, "affinity_cores", lambda: 3)
    monkeypatch.setattr(threads, "CPU_MAX", tmp_path / "no-cpu.max")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert use_threads() == 3 and torch.get_num_threads() == 3
    assert use_threads(2) == 2 and torch.get_num_threads() == 2


@pytest.mark.parametrize("command", ["search", "train", "study", "plant"])
def test_commands_take_threads(command):
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--threads" in result.output


@pytest.mark.slow
def test_seeds_in_two_workers_match_one_after_another(tmp_path):
    """``search --seeds 0,1 --workers 2``: each seed's search is the one it would be alone."""
    import json

    import factorspace as fs
    from factorspace.genotype import load_genotype
    from factorspace.search.multiseed import search_seeds
    from tests.conftest import ROOT

    recipe = fs.load_recipe(
        ROOT / "tests/search/tiny.yaml", ["search.epochs=1", "data.subset_per_class=0.01"]
    )
    with one_thread():  # each of the two workers gets one of the 2 cores' threads
        alone = fs.search(recipe, out=tmp_path / "alone", device="cpu", seed=1)
    parent = search_seeds(
        recipe, [0, 1], out=tmp_path / "parallel", device="cpu", workers=2, threads=2
    )
    shared = parent / "seed_1"
    assert load_genotype(shared / "genotype.json").model_dump(exclude={"source"}) == (
        alone.genotype.model_dump(exclude={"source"})
    )
    rows = [json.loads(line) for line in (shared / "metrics.jsonl").read_text().splitlines()]
    assert [(r["train_loss"], r["val_loss"]) for r in rows] == [
        (r["train_loss"], r["val_loss"]) for r in alone.metrics
    ]
    assert json.loads((parent / "summary.json").read_text())["seeds"] == [0, 1]


def test_workers_without_seeds_is_refused():
    from tests.conftest import ROOT

    result = CliRunner().invoke(
        app, ["search", str(ROOT / "tests/search/tiny.yaml"), "--workers", "2"]
    )
    assert result.exit_code == 2 and "give --seeds too" in result.output


def test_study_workers_split_the_cores_they_are_given(monkeypatch, tmp_path):
    """``study --workers 2 --threads 4`` on 8 cores: each cell's process gets 2 threads."""
    from factorspace.study import runner

    envs = []

    def cell_process(study_path, cell, out, device, env):
        envs.append(env)
        return {"variant": cell[0], "seed": cell[1]}

    monkeypatch.setattr(runner, "_cell_process", cell_process)
    monkeypatch.setattr(threads, "affinity_cores", lambda: 8)
    monkeypatch.setattr(threads, "CPU_MAX", tmp_path / "no-cpu.max")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cells = [("a", 0), ("a", 1), ("b", 0)]
    rows = list(runner._local("study.yaml", cells, tmp_path, "cpu", 2, {}, None, threads=4))
    assert len(rows) == 3 and {e["OMP_NUM_THREADS"] for e in envs} == {"2"}
    envs.clear()
    list(runner._local("study.yaml", cells, tmp_path, "cpu", 2, {}, None))  # all 8 cores
    assert {e["OMP_NUM_THREADS"] for e in envs} == {"4"}
