"""scripts/rrelu_draws_ab.py: DARTS and A-DARTS timed in one process, RReLU's draws three ways."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

TINY = ["supernet.channels=4", "supernet.cells=3", "data.image_size=8"]


@pytest.mark.slow
def test_the_script_times_the_three_ways_against_darts():
    command = [sys.executable, str(ROOT / "scripts" / "rrelu_draws_ab.py"), "--batch-size", "2",
               "--repeats", "1"]  # fmt: skip
    for item in TINY:
        command += ["--set", item]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    header, *rows = out.splitlines()
    assert header.startswith("forward+backward, batch 2, one thread, median of 1 interleaved")
    assert [row.split("  ")[1].strip() for row in rows] == [
        "darts", "a-darts, torch's draws", "a-darts, hashed", "a-darts, uniform_ draws",
    ]  # fmt: skip
    assert rows[0].endswith(" 1.000x")
