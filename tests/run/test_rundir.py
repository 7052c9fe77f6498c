"""Run directories: never overwritten or mixed into, and recording what made the run."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
import yaml

import factorspace as fs
from factorspace.run.checkpoint import save_checkpoint
from factorspace.run.lock import RunLock
from factorspace.run.rundir import (
    MetricsLog,
    RunDir,
    claim_run_dir,
    new_run_dir,
    prepare_run_dir,
    seed_runs,
)
from factorspace.search import search
from tests.search.tiny import ROOT, one_thread, tiny_recipe


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    argv = ["factorspace", "search", "tests/search/tiny.yaml", "--seed", "3"]
    run_dir = tmp_path_factory.mktemp("rundir") / "run"
    recipe = tiny_recipe("search.epochs=1")
    with pytest.MonkeyPatch.context() as m, one_thread():
        m.setattr(sys, "argv", argv)
        search(recipe, out=run_dir, device="cpu", seed=3)
    return recipe, run_dir, argv


def test_the_run_records_recipe_versions_seed_device_and_command(recorded):
    recipe, run_dir, argv = recorded
    resolved = yaml.safe_load((run_dir / "recipe.yaml").read_text())
    assert resolved["search"]["seed"] == 3  # --seed is part of the resolved recipe
    resolved["search"]["seed"] = recipe.search.seed
    assert resolved == recipe.model_dump(mode="json")
    run = json.loads((run_dir / "run.json").read_text())
    env = run["env"]
    assert run["seed"] == 3 and run["status"] == "complete"
    assert env["factorspace"] == fs.__version__ and env["torch"] == torch.__version__
    assert env["cuda"] == torch.version.cuda and env["device"] == "cpu"
    assert env["argv"] == argv and env["command"] == " ".join(argv)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert env["git_commit"] == (head.stdout.strip() or None)


def test_run_files_are_readable_by_others(recorded):
    _, run_dir, _ = recorded
    for name in ("recipe.yaml", "run.json", "metrics.jsonl", "metrics.csv", "genotype.json"):
        assert stat.S_IMODE((run_dir / name).stat().st_mode) & 0o044 == 0o044, name


def test_a_run_never_writes_into_an_existing_run(recorded):
    recipe, run_dir, _ = recorded
    before = run_files(run_dir)
    with pytest.raises(fs.FactorspaceError, match="already exists and is not empty; use --resume"):
        search(recipe, out=run_dir, device="cpu")
    assert run_files(run_dir) == before


def run_files(run_dir) -> dict:
    """Every file's modification time, but the lock's (its holder's pid changes)."""
    return {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.name != "run.lock"}


def test_runs_started_at_once_get_their_own_directories(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        dirs = list(pool.map(lambda _: new_run_dir(tmp_path, "search"), range(8)))
    assert len(set(dirs)) == 8
    assert all(d.is_dir() and d.name.startswith("search-") for d in dirs)


@pytest.mark.parametrize("existed", [False, True])
def test_a_run_that_cannot_start_leaves_no_run_directory(tmp_path, existed):
    out = tmp_path / "run"
    if existed:
        out.mkdir()
    with pytest.raises(
        fs.FactorspaceError, match="search.batch_size: 4096 is more than the training portion"
    ):
        search(tiny_recipe("search.batch_size=4096"), out=out, device="cpu")
    assert out.is_dir() == existed
    assert not existed or not any(out.iterdir())


def test_run_dir_names_every_file_a_run_writes(tmp_path):
    d = RunDir(tmp_path)
    named = {
        d.recipe: "recipe.yaml",
        d.record: "run.json",
        d.metrics_jsonl: "metrics.jsonl",
        d.metrics_csv: "metrics.csv",
        d.genotype: "genotype.json",
        d.checkpoint: "checkpoints/last.pt",
        d.tensorboard: "tensorboard",
        d.plots_dir: "plots",
        d.report: "report.html",
        d.arch(7): "arch/epoch_007.json",
        d.epoch_genotype(12): "genotypes/epoch_012.json",
        d.summary_json: "summary.json",
        d.summary_csv: "summary.csv",
        d.retrain_dir: "retrain",
        d.seed_run(3).root: "seed_3",
    }
    assert {p.relative_to(tmp_path).as_posix(): n for p, n in named.items()} == {
        n: n for n in named.values()
    }


def test_a_search_run_directory_holds_the_named_files(recorded):
    _, run_dir, _ = recorded
    d = RunDir(run_dir)
    for path in (d.recipe, d.record, d.metrics_jsonl, d.metrics_csv, d.genotype, d.checkpoint):
        assert path.is_file(), path
    assert d.arch_records() == [d.arch(1)] and d.epoch_genotypes() == [d.epoch_genotype(1)]
    assert d.status() == "complete" and MetricsLog(d).rows()[0]["epoch"] == 1


def test_the_run_record_is_merged_not_replaced(tmp_path):
    d = RunDir(tmp_path)
    assert d.status() is None and d.read_record() == {}
    d.update_record(status="running", seed=1)
    d.update_record(status="complete")
    assert d.read_record() == {"status": "complete", "seed": 1}


def test_seed_runs_are_the_runs_with_a_genotype_in_natural_order(tmp_path):
    for name in ("seed_10", "seed_2", "seed_1", "empty"):
        (tmp_path / name).mkdir()
    for name in ("seed_10", "seed_2", "seed_1"):
        RunDir(tmp_path / name).genotype.write_text("{}")
    assert [p.name for p in seed_runs(tmp_path)] == ["seed_1", "seed_2", "seed_10"]


def test_resume_needs_a_run_directory(tmp_path):
    with pytest.raises(fs.FactorspaceError, match="--resume needs --out RUN_DIR"):
        prepare_run_dir(None, "x", True)
    with pytest.raises(fs.FactorspaceError, match="not a run directory \\(no run.json\\)"):
        prepare_run_dir(tmp_path, "x", True)
    assert prepare_run_dir(tmp_path, "x", True, suffix="-seeds") == tmp_path  # a parent: a dir
    with pytest.raises(fs.FactorspaceError, match="no such directory to --resume"):
        prepare_run_dir(tmp_path / "absent", "x", True, suffix="-seeds")


def test_metrics_csv_has_every_column_in_order_of_appearance(tmp_path):
    log = MetricsLog(tmp_path)
    log.write([{"epoch": 1, "a": 1.5}, {"epoch": 2, "b": 2}])
    assert log.rows() == [{"epoch": 1, "a": 1.5}, {"epoch": 2, "b": 2}]
    assert log.csv.read_text().splitlines() == ["epoch,a,b", "1,1.5,", "2,,2"]


def test_the_version_is_read_without_the_package_root():
    from factorspace import _version
    from factorspace.run import environment

    assert _version.__version__ == fs.__version__
    assert environment.__version__ is _version.__version__


def ended_early(root, status: str, checkpoint: bool = False) -> RunDir:
    """A run directory whose run.json says ``status``, with files, and a checkpoint or none."""
    d = RunDir(root)
    d.update_record(status=status)
    d.recipe.write_text("name: r\n")
    d.arch_dir.mkdir(parents=True)
    if checkpoint:
        save_checkpoint(d.checkpoint, {"epoch": 0})
    return d


@pytest.mark.parametrize(
    ("status", "ended"),
    [
        ("failed", "failed"),
        ("interrupted", "was interrupted"),
        ("running", "was killed (run.json said running, but no process held its lock)"),
    ],
)
def test_a_run_that_ended_before_its_first_checkpoint_is_reused(tmp_path, status, ended):
    d = ended_early(tmp_path / "run", status)
    claim = claim_run_dir(d.root, "r", resume=False)
    claim.lock.release()
    assert (claim.root, claim.resume) == (d.root, False)
    assert claim.note == (
        f"{d.root}: reusing the directory of a run that {ended} before its first checkpoint"
    )
    assert [p.name for p in d.root.iterdir()] == ["run.lock"]  # emptied, but for the lock


@pytest.mark.parametrize("status", ["failed", "interrupted", "running"])
def test_resuming_a_run_without_a_checkpoint_starts_it_again(tmp_path, status):
    d = ended_early(tmp_path / "run", status)
    claim = claim_run_dir(d.root, "r", resume=True)
    claim.lock.release()
    assert claim.resume is False
    assert claim.note.startswith(f"{d.root}: no checkpoint to resume from (the run ")
    assert claim.note.endswith("before its first one); starting it again from the beginning")
    assert [p.name for p in d.root.iterdir()] == ["run.lock"]


def test_a_run_with_a_checkpoint_is_resumed_or_refused_never_reused(tmp_path):
    d = ended_early(tmp_path / "run", "running", checkpoint=True)
    claim = claim_run_dir(d.root, "r", resume=True)
    claim.lock.release()
    assert (claim.resume, claim.note) == (True, None)
    with pytest.raises(fs.FactorspaceError, match="already exists and is not empty; use --resume"):
        claim_run_dir(d.root, "r", resume=False)
    assert d.checkpoint.is_file() and d.arch_dir.is_dir()


def test_a_running_run_is_neither_reused_nor_resumed(tmp_path):
    d = ended_early(tmp_path / "run", "running")
    held = RunLock.acquire(d.root)  # its process is alive
    for resume in (False, True):
        with pytest.raises(fs.FactorspaceError, match="in use by another run"):
            claim_run_dir(d.root, "r", resume=resume)
    held.release()
    assert d.recipe.is_file()  # nothing removed
