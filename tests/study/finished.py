"""A study run once through the CLI for a module's tests, and its CSV tables read back."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from factorspace.cli import app
from tests.search.tiny import one_thread


def run_study_cli(study: Path, out: Path) -> tuple[Path, str]:
    """``factorspace study STUDY --out OUT`` on the CPU in one thread: (OUT, its console text)."""
    args = ["study", str(study), "--out", str(out), "--device", "cpu", "--threads", "1"]
    with one_thread():
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, result.output


def read_csv(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))
