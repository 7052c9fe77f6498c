"""`factorspace bench` at a tiny size: a smoke test of the figures it reports, not of speed."""

import csv
import json

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from factorspace.bench import bench
from factorspace.cli import app
from factorspace.compile import compile_supernet
from factorspace.schema import SupernetConfig
from tests.conftest import paper_space

TINY = [
    "supernet.channels=4",
    "supernet.cells=3",
    "space.cell.nodes=2",
    "data.image_size=8",
    "search.tensorboard=false",
]
RECIPES = ["recipes/darts_cifar.yaml", "recipes/adarts_cifar.yaml"]


@pytest.fixture(scope="module")
def rows():
    return bench(RECIPES, overrides=TINY, batch_size=2, steps=1, warmup=0, isolate=False)


def test_one_row_per_recipe_with_ratios_to_the_first(rows):
    assert [r["recipe"] for r in rows] == ["darts_cifar", "adarts_cifar"]
    assert rows[0]["step_s_ratio"] == 1.0 and rows[0]["forward_backward_s_ratio"] == 1.0
    r = rows[1]
    assert r["step_s_ratio"] == pytest.approx(r["step_s"] / rows[0]["step_s"])
    assert r["images_per_s"] == pytest.approx(2 / r["step_s"])


def test_rows_say_which_path_mixed_and_their_cpu_time(rows):
    assert rows[0]["mixing"] == "none (no mixed input factor in this space)"
    # the tests run the fused path's eager code (tests/conftest.py)
    assert rows[1]["mixing"] == (
        "fused, eager (not compiled: FACTORSPACE_FUSED_KERNEL=eager); "
        "rrelu: noise hashed in the kernels (supernet.rrelu_noise)"
    )
    for r in rows:
        assert r["forward_backward_cpu_s"] > 0 and r["step_cpu_s"] > 0
    r = rows[1]
    assert r["step_cpu_s_ratio"] == pytest.approx(r["step_cpu_s"] / rows[0]["step_cpu_s"])


def test_sequential_counts_one_validation_pass_per_searched_factor(rows):
    # DARTS searches one factor (op); A-DARTS two (op, activation): 1 weight pass + 1 or 2.
    assert [r["passes_per_step"] for r in rows] == [2, 3]
    assert rows[1]["gflop_per_step"] > rows[0]["gflop_per_step"] > 0


@pytest.mark.slow
def test_cli_writes_json_and_csv(tmp_path):
    runner = CliRunner()
    for suffix in ("json", "csv"):
        out = tmp_path / f"bench.{suffix}"
        args = ["bench", RECIPES[1], "--batch-size", "2", "--steps", "1", "--warmup", "0"]
        args += ["--update", "simultaneous", "--out", str(out)]
        for o in TINY:
            args += ["--set", o]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        rows = json.loads(out.read_text()) if suffix == "json" else list(csv.DictReader(out.open()))
        assert len(rows) == 1 and rows[0]["update"] == "simultaneous"
        assert int(rows[0]["passes_per_step"]) == 2


@pytest.mark.slow
def test_compiled_mixing_matches_eager(images):
    """search.compile: the compiled mixed activation gives the eager forward and gradients."""
    torch.manual_seed(0)
    config = SupernetConfig(channels=4, cells=1, reduction_cells=[], classes=10)
    eager = compile_supernet(paper_space(activations=["relu", "elu", "swish"]), config)
    compiled = compile_supernet(paper_space(activations=["relu", "elu", "swish"]), config)
    compiled.load_state_dict(eager.state_dict())
    compiled.compile_mixing()
    y = torch.tensor([1, 2])
    losses = []
    for net in (eager, compiled):
        loss = F.cross_entropy(net(images), y)
        loss.backward()
        losses.append(loss)
    torch.testing.assert_close(losses[1], losses[0])
    for g in ("op", "activation"):
        for a, b in zip(eager.arch_parameters()[g], compiled.arch_parameters()[g], strict=True):
            torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_profile_script_writes_the_operators_of_a_step_and_their_kinds(tmp_path):
    import re
    import subprocess
    import sys

    table = tmp_path / "ops.csv"
    sets = [arg for s in TINY for arg in ("--set", s)]
    cmd = [sys.executable, "scripts/profile_step.py", RECIPES[0], "--batch-size", "2", *sets]
    cmd += ["--steps", "2", "--csv", str(table)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "s of CPU time a step without the profiler; one step" in done.stdout
    with table.open() as f:
        rows = list(csv.DictReader(f))
    kinds = {r["operator"]: r["kind"] for r in rows}
    assert kinds["aten::mkldnn_convolution"] == "convolution"  # the supernet's convolutions ran
    assert kinds["aten::native_batch_norm"] == "batch_norm"
    assert kinds["aten::add"] == "other"
    calls = {r["operator"]: float(r["calls"]) for r in rows}
    assert calls["aten::mkldnn_convolution"].is_integer()  # per step: two equal steps averaged
    assert all(float(r["self_s"]) >= 0 for r in rows)
    printed = dict(re.findall(r"(\w+) ([\d.]+) s \(", done.stdout.split("by kind: ")[1]))
    for kind in ("convolution", "batch_norm", "other"):
        total = sum(float(r["self_s"]) for r in rows if r["kind"] == kind)
        assert float(printed[kind]) == pytest.approx(total, abs=1e-3)


def test_interleaved_calls_take_turns_after_their_warm_up():
    from factorspace.bench import interleaved_medians

    order = []
    calls = {name: (lambda name=name: order.append(name)) for name in ("a", "b")}
    medians = interleaved_medians(calls, torch.device("cpu"), steps=3, warmup=1)
    assert order == ["a", "b", "a", "b", "a", "b", "a", "b"]
    assert set(medians) == {"a", "b"} and all(w >= 0 and c >= 0 for w, c in medians.values())


def test_interleaved_timings_join_each_row_with_their_ratios():
    rows = bench(RECIPES, overrides=TINY, batch_size=2, steps=2, warmup=0, isolate=False,
                 interleave=True)  # fmt: skip
    assert [r["recipe"] for r in rows] == ["darts_cifar", "adarts_cifar"]
    for key in ("forward_backward", "step"):
        for kind in ("s", "cpu_s"):
            name = f"{key}_interleaved_{kind}"
            assert rows[0][f"{name}_ratio"] == 1.0
            assert rows[1][name] > 0
            assert rows[1][f"{name}_ratio"] == pytest.approx(rows[1][name] / rows[0][name])
    assert rows[1]["forward_backward_s"] > 0  # the separate-process figures are still there


def _tiny_bench_output(*options: str) -> list[str]:
    """The lines ``factorspace bench`` prints for both recipes at the tiny size, one step."""
    args = ["bench", *RECIPES, "--batch-size", "2", "--steps", "1", "--warmup", "0", *options]
    for o in TINY:
        args += ["--set", o]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


@pytest.mark.slow
def test_cli_interleave_prints_the_one_process_ratios():
    lines = _tiny_bench_output("--interleave")
    at = lines.index("interleaved in one process (CPU s, median of 1):")
    assert lines[at + 1].startswith("  darts_cifar: fwd+bwd ") and "(1.00x)" in lines[at + 1]
    assert lines[at + 2].startswith("  adarts_cifar: fwd+bwd ")


def test_an_isolated_measurement_whose_process_dies_is_an_error_not_a_hang():
    import queue as queues

    from factorspace.bench import _child_result

    class Dead:
        exitcode = -9  # killed, e.g. by the OOM killer, before it put a result

        def is_alive(self):
            return False

    assert _child_result(queues.Queue(), Dead(), poll_s=0.01) == (
        "error",
        "the measuring process died (exit code -9)",
    )
    answered = queues.Queue()
    answered.put(("ok", {"x": 1}))
    assert _child_result(answered, Dead(), poll_s=0.01) == ("ok", {"x": 1})


def _fake_row(recipe: str, fb: float, peak: float) -> dict:
    return {"recipe": recipe, "batch_size": 4, "gflop_per_step": 8.0, "forward_backward_s": fb,
            "step_s": 2 * fb, "forward_backward_cpu_s": fb, "step_cpu_s": 2 * fb,
            "peak_memory_mib": peak}  # fmt: skip


def test_rounds_take_turns_and_combine_into_medians_and_the_largest_peak(monkeypatch):
    import factorspace.bench as bench_module

    measured = []
    times = {"a.yaml": iter([1.0, 5.0, 2.0]), "b.yaml": iter([3.0, 3.5, 9.0])}

    def fake_measure(path, *args):
        measured.append(path)
        return _fake_row(path, next(times[path]), 100.0 + len(measured))

    monkeypatch.setattr(bench_module, "measure", fake_measure)
    monkeypatch.setattr(bench_module, "asdict", lambda row: row)
    rows = bench(["a.yaml", "b.yaml"], isolate=False, rounds=3)
    assert measured == ["a.yaml", "b.yaml"] * 3  # in turns, not one recipe's rounds together
    a, b = rows
    assert a["rounds"] == 3 and a["forward_backward_cpu_s_rounds"] == [1.0, 5.0, 2.0]
    assert a["forward_backward_cpu_s"] == 2.0 and a["step_s"] == 4.0  # medians
    assert b["forward_backward_s"] == 3.5 and b["forward_backward_s_ratio"] == 3.5 / 2.0
    assert a["peak_memory_mib"] == 105.0 and b["peak_memory_mib"] == 106.0  # the largest
    assert a["images_per_s"] == 4 / 4.0 and a["gflop_per_s"] == 8.0 / 4.0


@pytest.mark.slow
def test_cli_rounds_prints_each_rounds_time():
    lines = _tiny_bench_output("--rounds", "2")
    at = lines.index("separate processes: median of 2 rounds, fwd+bwd CPU s per round:")
    assert lines[at + 1].startswith("  darts_cifar: ") and lines[at + 1].count(",") == 1
    assert lines[at + 2].startswith("  adarts_cifar: ")
