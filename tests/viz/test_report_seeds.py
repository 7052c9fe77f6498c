"""`factorspace report PARENT` on a `search --seeds` parent: a page per seed run and a summary
page across the seeds that links to them."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.errors import FactorspaceError
from factorspace.run.rundir import RunDir
from factorspace.viz.report import write_report


@pytest.fixture
def parent(run_dir, tmp_path):
    """seed_0 and seed_1 (copies of one finished run), seed_2 started but without an epoch."""
    parent = tmp_path / "seeds"
    for seed in (0, 1):
        shutil.copytree(
            run_dir, parent / f"seed_{seed}", ignore=shutil.ignore_patterns("checkpoints", "plots")
        )
    (parent / "seed_2").mkdir()
    (parent / "seed_2" / "run.json").write_text(json.dumps({"status": "running"}))
    return parent


def test_report_on_a_seeds_parent_writes_each_seed_and_a_summary(parent):
    result = CliRunner().invoke(app, ["report", str(parent)])
    assert result.exit_code == 0, result.output
    paths = RunDir(parent)
    wrote = [line.removeprefix("wrote ") for line in result.stdout.splitlines()]
    assert wrote == [
        str(paths.seed_run(0).report),
        str(paths.seed_run(1).report),
        str(paths.report),
    ]
    page = paths.report.read_text()
    assert '<a href="seed_0/report.html">seed 0</a>' in page
    assert '<a href="seed_1/report.html">seed 1</a>' in page
    assert "no metrics.jsonl" in page  # seed_2: why it has no page
    val = json.loads(paths.seed_run(0).metrics_jsonl.read_text().splitlines()[-1])["val_acc"]
    assert f"final val accuracy over 2 seeds: {100 * val:.2f}% ± 0.00%" in page
    assert (parent / "plots" / "seed_frequencies.png").is_file()
    assert 'src="plots/seed_frequencies.png"' in page


def test_a_seeds_parent_without_a_finished_epoch_is_refused(tmp_path):
    (tmp_path / "seed_0").mkdir()
    with pytest.raises(FactorspaceError, match="no seed run under it has a finished epoch yet"):
        write_report(tmp_path, formats=("png",))
