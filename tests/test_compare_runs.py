"""scripts/compare_runs.py: the bit-identity check between two search runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.conftest import ROOT


def fake_run(path, alpha=0.5):
    (path / "arch").mkdir(parents=True)
    (path / "genotype.json").write_text(json.dumps({"name": "g", "source": str(path)}))
    record = {"alphas": {"normal": {"op": [[alpha]]}}, "weights": {"normal": {"op": [[1.0]]}}}
    (path / "arch" / "epoch_001.json").write_text(json.dumps(record))
    (path / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "val_acc": 0.1, "images_per_s": 3}))


def compare(a, b):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compare_runs.py"), str(a), str(b)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_equal_runs_differ_only_in_source_and_timing(tmp_path):
    fake_run(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "metrics.jsonl").write_text(
        json.dumps({"epoch": 1, "val_acc": 0.1, "images_per_s": 9})
    )
    result = compare(tmp_path / "a", tmp_path / "b")
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "identical"


def test_one_changed_logit_is_a_different_run(tmp_path):
    fake_run(tmp_path / "a")
    fake_run(tmp_path / "b", alpha=0.5000001)
    result = compare(tmp_path / "a", tmp_path / "b")
    assert result.returncode == 1
    assert "arch/epoch_001.json: DIFFERENT" in result.stdout
