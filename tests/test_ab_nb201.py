"""scripts/ab_nb201.py: factorspace's NB201 search step against xautodl's, at a tiny size."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

from .nb201_reference import require_xautodl

SCRIPT = ROOT / "scripts" / "ab_nb201.py"
TINY = ["--batch-size", "2", "--image-size", "8", "--channels", "8", "--cells", "1"]


@pytest.fixture(scope="module")
def ab():
    require_xautodl()
    spec = importlib.util.spec_from_file_location("ab_nb201", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ab_nb201"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules["ab_nb201"]


@pytest.mark.parametrize("model", ["darts", "gdas"])
def test_both_sides_take_interleaved_steps_and_the_ratio_is_theirs(ab, model, capsys):
    args = ab.parse_args(
        [*TINY, "--model", model, "--steps", "2", "--warmup", "0", "--no-memory"]
        + ["--xautodl-layout", "both"]
    )
    result = ab.run(args)
    assert list(result["sides"]) == ["factorspace", "xautodl", "xautodl-cl"]
    ours = result["sides"]["factorspace"]
    for name, side in result["sides"].items():
        assert len(side["cpu_s"]) == len(side["wall_s"]) == 2
        assert side["median_cpu_s"] > 0 and side["median_wall_s"] > 0
        if name != "factorspace":
            expected = ours["median_cpu_s"] / side["median_cpu_s"]
            assert ours[f"ratio_cpu_s_to_{name}"] == pytest.approx(expected)
    ab.report(result)
    out = capsys.readouterr().out
    assert f"NB201 {model} search step" in out and "xautodl-cl" in out


@pytest.mark.slow
def test_the_profile_groups_each_sides_operators(ab):
    args = ab.parse_args([*TINY, "--no-memory"])
    for name in ("factorspace", "xautodl"):
        seconds = ab.profile_side(ab.build_side(name, args), repeats=1)
        for what in ("convolution", "BatchNorm", "ReLU", "pooling", "sums and products"):
            assert seconds[what] > 0, (name, what)


@pytest.mark.slow
def test_the_command_writes_each_sides_peak_memory(tmp_path):
    require_xautodl()
    out = tmp_path / "ab.json"
    cmd = [sys.executable, str(SCRIPT), *TINY, "--steps", "1", "--warmup", "0"]
    cmd += ["--xautodl-layout", "contiguous", "--json", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert set(result["sides"]) == {"factorspace", "xautodl"}
    for side in result["sides"].values():
        assert side["memory"]["peak_mib"] > 0
    assert "factorspace / side" in done.stdout


@pytest.mark.slow
def test_a_bad_recipe_override_is_one_line_and_exit_2():
    require_xautodl()
    cmd = [sys.executable, str(SCRIPT), *TINY, "--image-size", "4", "--no-memory"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "data.image_size" in done.stderr and "Traceback" not in done.stderr
