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


def test_supernet_mode_times_both_batch_norms_and_restores_the_threshold():
    import importlib.util

    from factorspace.ops import kernels

    spec = importlib.util.spec_from_file_location(
        "kernel_check", ROOT / "scripts" / "kernel_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threshold_before = kernels.BATCH_NORM_MIN_ELEMENTS
    tiny = ["supernet.channels=4", "supernet.cells=3", "data.image_size=8"]
    batch, cpu = module.supernet_batch_norm("recipes/darts_cifar.yaml", tiny, 2, 1)
    assert batch == 2 and set(cpu) == {"ours", "torch"}
    assert all(seconds > 0 for seconds in cpu.values())
    assert threshold_before == kernels.BATCH_NORM_MIN_ELEMENTS
