"""A custom operator from the docs alone: a module beside the recipe, no PYTHONPATH, then a search
whose genotype files name that module, so `info` and `render` in a new process say which
`--import` they need, and find it with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from factorspace.genotype import get_genotype
from tests.conftest import ROOT
from tests.genotype.custom_ops import CustomOps, forget, tiny_recipe_text, write_custom_ops

pytestmark = pytest.mark.slow


def factorspace(*args, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m factorspace ARGS`` in a new process whose path holds factorspace only."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "factorspace", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def searched(tmp_path_factory) -> tuple[CustomOps, Path]:
    """A one-epoch tiny search over the custom operator, started from another folder."""
    root = tmp_path_factory.mktemp("custom")
    ops = write_custom_ops(root / "project")
    (ops.folder / "recipe.yaml").write_text(tiny_recipe_text(ops))
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    done = factorspace("search", ops.folder / "recipe.yaml", "--out", "run", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    yield ops, elsewhere / "run"
    forget(ops)


def test_the_run_records_the_module_and_its_folder(searched):
    ops, run = searched
    recorded = [{"module": ops.module, "folder": str(ops.folder.resolve())}]
    genotype = json.loads((run / "genotype.json").read_text())
    assert genotype["imports"] == recorded
    epoch_files = sorted((run / "genotypes").glob("*.json"))
    assert epoch_files
    for epoch_file in epoch_files:
        assert json.loads(epoch_file.read_text())["imports"] == recorded
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    assert recipe["imports"] == [str(ops.file.resolve())]


def test_info_and_render_of_the_run_in_a_new_process(searched, tmp_path):
    ops, run = searched
    refused = factorspace("info", run, "--json", cwd=tmp_path)
    assert refused.returncode == 2
    assert f"pass --import {ops.file.resolve()} " in refused.stderr  # the genotype is data
    info = factorspace("info", run, "--json", "--import", ops.file, cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["parameters"] > 0
    drawn = factorspace("render", run, "-o", "cells.gv", "--import", ops.file, cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    assert (
        ops.op
        in (tmp_path / "cells_normal.gv").read_text() + (tmp_path / "cells_reduce.gv").read_text()
    )


def test_a_genotype_without_imports_needs_import(searched, tmp_path):
    ops, _ = searched
    data = get_genotype("darts_v2").model_dump(mode="json", exclude_none=True)
    data["normal"]["edges"][0].update(op=ops.op, inputs={"activation": ops.activation})
    path = tmp_path / "hand_written.json"
    path.write_text(json.dumps(data))
    refused = factorspace("info", path, cwd=tmp_path)
    assert refused.returncode == 2
    assert f"normal.edges[0].op: unknown operator {ops.op!r}" in refused.stderr
    assert "Traceback" not in refused.stderr
    accepted = factorspace("info", path, "--import", ops.file, "--json", cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stderr
