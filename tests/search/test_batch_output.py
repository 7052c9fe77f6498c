"""A search run as a batch job (stdout a file): a header, progress lines during the first epoch,
no wrapping, run.log, the learning rate each epoch trained at; SIGHUP stops it like SIGTERM and
`search --resume RUN` (no recipe) continues it to the uninterrupted run's result."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from factorspace.genotype import load_genotype
from factorspace.run.checkpoint import load_checkpoint
from factorspace.run.rundir import RunDir
from tests.search.tiny import ROOT, TINY, assert_same_alphas, final_alphas, tiny_recipe

needs_sighup = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP here")


def default_sighup() -> None:
    """In the child: SIGHUP at its default, as in a batch job (not nohup's ignore, inherited)."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def batch_job(log, *args: str) -> subprocess.Popen:
    """``python -m factorspace ARGS > log 2>&1``, one thread."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("COLUMNS", None)
    preexec = default_sighup if hasattr(signal, "SIGHUP") else None
    return subprocess.Popen(
        [sys.executable, "-m", "factorspace", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=preexec,
    )


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """An uninterrupted tiny search as a batch job printing a progress line at every step."""
    tmp = tmp_path_factory.mktemp("batch")
    run_dir, log = tmp / "run", tmp / "log"
    with open(log, "w") as f:
        proc = batch_job(
            f, "search", str(TINY), "--device", "cpu", "--out", str(run_dir), "--log-every", "0"
        )
        assert proc.wait(timeout=300) == 0, log.read_text()
    return run_dir, log.read_text().splitlines()


def test_a_batch_job_prints_a_header_and_progress_during_the_first_epoch(batch):
    run_dir, lines = batch
    assert f"run directory: {run_dir}" in lines
    assert f"resume with: factorspace search --resume {run_dir}" in lines
    assert any(line.startswith("data: ") and "150 train / 150 val images" in line for line in lines)
    end_of_first = next(i for i, line in enumerate(lines) if line.startswith("epoch 1/2  train"))
    progress = [line for line in lines[:end_of_first] if line.startswith("epoch 1/2  step ")]
    assert len(progress) == 10, lines  # --log-every 0: each of the 10 steps
    assert all(
        re.search(r"loss \d\.\d{3}  acc [\d.]+%  \d+ img/s  ETA \d+:\d\d:\d\d$", line)
        for line in progress
    )
    normal = [line for line in lines if line.startswith("  normal ")]
    assert [line.count("->") for line in normal] == [4, 4]  # a cell on one line, not wrapped


def test_run_log_holds_the_lines_the_run_printed(batch):
    run_dir, lines = batch
    logged = RunDir(run_dir).run_log.read_text().splitlines()
    assert logged == lines[: len(logged)]  # the CLI's last lines (genotype: ...) come after
    assert sum(line.startswith("epoch 1/2  step ") for line in logged) == 10


def test_metrics_record_the_learning_rate_each_epoch_trained_at(batch):
    run_dir, _ = batch
    w = tiny_recipe().search.weights
    rows = [json.loads(line) for line in RunDir(run_dir).metrics_jsonl.read_text().splitlines()]
    # cosine over 2 epochs (DARTS): epoch 1 at lr, epoch 2 halfway to lr_min
    assert [r["lr"] for r in rows] == pytest.approx([w.lr, (w.lr + w.lr_min) / 2])


@needs_sighup
def test_sighup_checkpoints_and_resume_from_the_run_directory_matches(batch, tmp_path):
    reference, _ = batch
    run_dir, log = tmp_path / "run", tmp_path / "log"
    checkpoint = RunDir(run_dir).checkpoint
    with open(log, "w") as f:
        proc = batch_job(f, "search", str(TINY), "--device", "cpu", "--out", str(run_dir))
        deadline = time.monotonic() + 120
        while proc.poll() is None and not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=60) == 130, log.read_text()
    text = log.read_text()
    assert f"Continue with: factorspace search --resume {run_dir}" in text, text
    assert "Traceback" not in text
    assert json.loads(RunDir(run_dir).record.read_text())["status"] == "interrupted"
    load_checkpoint(checkpoint)  # whole
    with open(log, "w") as f:  # no recipe, no --out: all read from the run directory
        proc = batch_job(f, "search", "--resume", str(run_dir), "--device", "cpu")
        assert proc.wait(timeout=300) == 0, log.read_text()
    assert "resuming at epoch" in log.read_text()
    assert_same_alphas(final_alphas(run_dir), final_alphas(reference))
    got, want = (load_genotype(RunDir(d).genotype) for d in (run_dir, reference))
    assert (got.normal, got.reduce) == (want.normal, want.reduce)
