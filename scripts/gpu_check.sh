#!/usr/bin/env bash
# The GPU check of issues 21 and 28: on a CUDA machine, in under 10 minutes,
#   1. the tests marked `gpu` (tests/gpu: supernet forward/backward in fp32 and bf16,
#      channels_last, the CPU-only kernels unused on CUDA, a search iteration and a tiny search
#      on CUDA, two processes on NCCL when there are two GPUs; the fused mixed activation's
#      compiled Triton kernels against its eager path and autograd, and the run's header line);
#   2. `factorspace bench` at the paper's settings (batch 64, 16 channels, 8 cells, 32x32),
#      DARTS against A-DARTS: fp32 (the fused mixed activation compiled with Triton, the
#      default), bf16 (autocast: the mix is computed by autograd), and fp32 with the fused
#      mix's eager path (FACTORSPACE_FUSED_KERNEL=eager), to time the compiled kernel;
#   3. the NAS-Bench-201 supernet on CUDA: `factorspace bench recipes/nb201_darts.yaml` (its
#      step at the benchmark's sizes, fp32), then scripts/ab_nb201.py, its search step against
#      xautodl's TinyNetworkDarts (needs xautodl: pip install --no-deps xautodl; without it the
#      part fails and says so);
# and writes one JSON with the GPU, each part's exit status and figures.
#
#   scripts/gpu_check.sh [OUT.json]      default: $OUT/gpu_check.json, else ./gpu_check.json
#
# Exit status: 0 every part passed; 1 a part failed (the JSON says which); 3 no CUDA device.
# Run it from the repository root. docs/performance.md ("GPU check") says what it found.
set -uo pipefail

out="${1:-${OUT:+$OUT/gpu_check.json}}"
out="${out:-gpu_check.json}"
python="${PYTHON:-python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing run" >&2
    exit 3
fi
started=$(date +%s)

# 1. the gpu-marked tests (at most 3 minutes; then the bench: 110 + 80 + 60 s, and NB201's
#    50 + 80 s: under 10 minutes in all)
timeout 180 "$python" -m pytest -q -m gpu tests/gpu -rs --junitxml="$work/junit.xml" \
    >"$work/pytest.log" 2>&1
pytest_rc=$?
tail -n 15 "$work/pytest.log"

# 2. the bench at the paper's settings (the recipes' own sizes): NAME PRECISION KERNEL TIMEOUT
#    RECIPES...; KERNEL "eager" sets FACTORSPACE_FUSED_KERNEL=eager (the fused mix uncompiled)
bench_rc=0
while read -r name precision kernel limit recipes; do
    env_kernel=()
    [ "$kernel" = eager ] && env_kernel=(env FACTORSPACE_FUSED_KERNEL=eager)
    # shellcheck disable=SC2086  # recipes: several words
    timeout "$limit" ${env_kernel[@]+"${env_kernel[@]}"} "$python" -m factorspace bench $recipes \
        --device cuda --steps 5 --warmup 2 --set "search.precision=$precision" \
        --out "$work/bench_$name.json" </dev/null >"$work/bench_$name.log" 2>&1 || bench_rc=$?
    tail -n 10 "$work/bench_$name.log"
done <<'RUNS'
fp32 fp32 compiled 110 recipes/darts_cifar.yaml recipes/adarts_cifar.yaml
bf16 bf16 compiled 80 recipes/darts_cifar.yaml recipes/adarts_cifar.yaml
fp32_fused_eager fp32 eager 60 recipes/adarts_cifar.yaml
RUNS

# 3. NB201: the supernet's step, then the A/B against xautodl (same sizes, interleaved; peak
#    memory of each side in a fresh process: torch.cuda.max_memory_allocated)
nb201_rc=0
timeout 50 "$python" -m factorspace bench recipes/nb201_darts.yaml --device cuda --steps 5 \
    --warmup 2 --out "$work/bench_nb201.json" >"$work/bench_nb201.log" 2>&1 || nb201_rc=$?
tail -n 4 "$work/bench_nb201.log"
timeout 80 "$python" scripts/ab_nb201.py --device cuda --steps 10 --warmup 3 \
    --xautodl-layout contiguous --json "$work/ab_nb201.json" >"$work/ab_nb201.log" 2>&1 \
    || nb201_rc=$?
tail -n 6 "$work/ab_nb201.log"

"$python" - "$work" "$out" "$pytest_rc" "$bench_rc" "$started" "$nb201_rc" <<'PY'
import json, subprocess, sys, time
import xml.etree.ElementTree as ET
from pathlib import Path

import torch

work, out, pytest_rc, bench_rc, started, nb201_rc = sys.argv[1:]
work = Path(work)
tests = {"exit_status": int(pytest_rc)}
if (work / "junit.xml").is_file():
    root = ET.parse(work / "junit.xml").getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    tests.update(counts, passed=counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"])
tests["log_tail"] = (work / "pytest.log").read_text().splitlines()[-15:]
bench = {"exit_status": int(bench_rc)}
for name in ("fp32", "bf16", "fp32_fused_eager"):
    path, log = work / f"bench_{name}.json", work / f"bench_{name}.log"
    bench[name] = json.loads(path.read_text()) if path.is_file() else None
    if bench[name] is None and log.is_file():
        bench[f"{name}_log_tail"] = log.read_text().splitlines()[-15:]
# the compiled Triton kernel against the eager fused path: A-DARTS's times, and what ran
compiled = next((r for r in bench["fp32"] or [] if r["recipe"] == "adarts_cifar"), None)
eager = (bench["fp32_fused_eager"] or [None])[0]
if compiled and eager:
    bench["fused_kernel"] = {
        "compiled_mixing": compiled["mixing"],
        "eager_mixing": eager["mixing"],
        "forward_backward_s": {"compiled": compiled["forward_backward_s"], "eager": eager["forward_backward_s"]},
        "step_s": {"compiled": compiled["step_s"], "eager": eager["step_s"]},
        "peak_memory_mib": {"compiled": compiled["peak_memory_mib"], "eager": eager["peak_memory_mib"]},
    }
try:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
except OSError:
    commit = None
report = {
    "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
    "torch": torch.__version__,
    "cuda": torch.version.cuda,
    "git_commit": commit,
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "seconds": round(time.time() - int(started), 1),
    "tests": tests,
    "bench": bench,
    "nb201": nb201,
    "passed": int(pytest_rc) == 0 and int(bench_rc) == 0 and int(nb201_rc) == 0,
}
Path(out).parent.mkdir(parents=True, exist_ok=True)
Path(out).write_text(json.dumps(report, indent=2) + "\n")
print(f"gpu_check: {'passed' if report['passed'] else 'FAILED'}; wrote {out}")
sys.exit(0 if report["passed"] else 1)
PY
