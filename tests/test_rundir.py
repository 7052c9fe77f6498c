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
from factorspace.run.rundir import new_run_dir
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
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")}
    with pytest.raises(fs.FactorspaceError, match="already exists and is not empty; use --resume"):
        search(recipe, out=run_dir, device="cpu")
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")} == before


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
    with pytest.raises(fs.FactorspaceError, match="search.batch_size=4096 but"):
        search(tiny_recipe("search.batch_size=4096"), out=out, device="cpu")
    assert out.is_dir() == existed
    assert not existed or not any(out.iterdir())
