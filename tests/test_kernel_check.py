"""scripts/kernel_check.py: a row per depthwise case and BatchNorm, ours against torch's."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_script_prints_a_row_per_case_with_its_ratio():
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "kernel_check.py"), "--sizes", "tiny",
         "--repeats", "1"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    header, *rows = out.splitlines()
    assert header.startswith("forward+backward, channels_last, 1 thread(s)")
    assert len(rows) == 9  # 8 depthwise layers of DARTS's menu, then BatchNorm
    assert rows[0].split()[:6] == ["b2", "c4", "8px", "depthwise", "3x3", "dil"]
    assert "BatchNorm" in rows[-1]
    for row in rows:
        ours, theirs, ratio = (float(v) for v in row.split()[-3:])
        assert ours > 0 and theirs > 0 and ratio > 0
