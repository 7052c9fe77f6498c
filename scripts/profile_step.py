"""Where a search step's time goes: torch.profiler's per-operator table for one step.

    python scripts/profile_step.py recipes/darts_cifar.yaml [--update simultaneous] [--csv F]
        [--batch-size N] [--steps N] [--set key=value ...]

Builds the supernet as ``factorspace bench`` does (random inputs at the recipe's sizes,
channels_last as the recipe says), runs one untimed step, times ``--steps`` steps without the
profiler, then profiles ``--steps`` steps and prints the operators by self CPU time per step,
and the shares of the kinds of operator no implementation on torch's CPU back end avoids
(convolutions, BatchNorm); ``--csv`` also writes the table (operator, calls, self seconds, per
step). The profiler adds overhead: use the shares, and ``factorspace bench`` for the step time.
"""

from __future__ import annotations

import argparse
import csv
import time

from torch.profiler import ProfilerActivity, profile

from factorspace.bench import bench_setup

# Operator names by kind: torch's convolution and BatchNorm kernels, forward and backward, and
# the dispatch layers above them (their self times are the calls' overhead).
KINDS = {
    "convolution": (
        "aten::conv2d",
        "aten::convolution",
        "aten::_convolution",
        "aten::mkldnn_convolution",
        "aten::convolution_backward",
    ),  # fmt: skip
    "batch_norm": (
        "aten::batch_norm",
        "aten::_batch_norm_impl_index",
        "aten::native_batch_norm",
        "aten::native_batch_norm_backward",
    ),  # fmt: skip
}


def kind_of(operator: str) -> str:
    """The kind in :data:`KINDS` of an operator's profiler name, or ``other``."""
    return next((kind for kind, names in KINDS.items() if operator in names), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--update", default=None, help="sequential or simultaneous")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=1, help="steps timed, then profiled")
    parser.add_argument("--set", action="append", default=[], help="override a recipe field")
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    args = parser.parse_args()

    step = bench_setup(args.recipe, args.set, "cpu", args.batch_size, args.update).step
    step()  # warm-up: first-call allocations and oneDNN primitive creation
    start = time.process_time()
    for _ in range(args.steps):
        step()
    plain = (time.process_time() - start) / args.steps
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    per_step = [(e.key, e.count / args.steps, e.self_cpu_time_total / 1e6 / args.steps)
                for e in events]  # fmt: skip
    total = sum(s for *_, s in per_step)
    print(f"{args.recipe}: {plain:.3f} s of CPU time a step without the profiler; "
          f"one step, {total:.2f} s of self CPU time under the profiler")  # fmt: skip
    print(f"{'operator':<48} {'calls':>7} {'self s':>8} {'share':>6}")
    for key, calls, s in per_step[: args.rows]:
        print(f"{key[:48]:<48} {calls:>7.0f} {s:>8.3f} {s / total:>6.1%}")
    by_kind = {kind: 0.0 for kind in (*KINDS, "other")}
    for key, _, s in per_step:
        by_kind[kind_of(key)] += s
    print("by kind: " + ", ".join(f"{k} {s:.3f} s ({s / total:.1%})" for k, s in by_kind.items()))
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["operator", "kind", "calls", "self_s"])
            for key, calls, s in per_step:
                writer.writerow([key, kind_of(key), f"{calls:g}", f"{s:.6f}"])


if __name__ == "__main__":
    main()
