"""Where a search step's time goes: torch.profiler's per-operator table for one step.

    python scripts/profile_step.py recipes/darts_cifar.yaml [--update simultaneous] [--csv F]
        [--batch-size N] [--set key=value ...]

Builds the supernet as ``factorspace bench`` does (random inputs at the recipe's sizes,
channels_last as the recipe says), runs one untimed step, then profiles one step and prints the
operators by self CPU time; ``--csv`` also writes them (operator, calls, self seconds).
The profiler adds overhead: use the shares, and ``factorspace bench`` for the step time.
"""

from __future__ import annotations

import argparse
import csv

from torch.profiler import ProfilerActivity, profile

from factorspace.bench import bench_setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--update", default=None, help="sequential or simultaneous")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--set", action="append", default=[], help="override a recipe field")
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    args = parser.parse_args()

    step = bench_setup(args.recipe, args.set, "cpu", args.batch_size, args.update).step
    step()  # warm-up: first-call allocations and oneDNN primitive creation
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events) / 1e6
    print(f"{args.recipe}: one step, {total:.2f} s of self CPU time under the profiler")
    print(f"{'operator':<48} {'calls':>7} {'self s':>8} {'share':>6}")
    for e in events[: args.rows]:
        s = e.self_cpu_time_total / 1e6
        print(f"{e.key[:48]:<48} {e.count:>7} {s:>8.3f} {s / total:>6.1%}")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["operator", "calls", "self_s"])
            for e in events:
                writer.writerow([e.key, e.count, f"{e.self_cpu_time_total / 1e6:.6f}"])


if __name__ == "__main__":
    main()
