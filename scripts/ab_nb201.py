"""NAS-Bench-201's search step: factorspace against its authors' code (xautodl), in one process.

    python scripts/ab_nb201.py [--model darts|gdas] [--batch-size 64] [--image-size 32]
        [--channels 16] [--cells 5] [--threads 1] [--steps 5] [--warmup 1]
        [--xautodl-layout contiguous|channels_last|both] [--device cpu|cuda]
        [--no-memory] [--profile] [--json FILE] [--set key=value ...]

Builds xautodl's search model (``TinyNetworkDarts``, or ``TinyNetworkGDAS`` with ``--model gdas``;
BatchNorm ``affine=False, track_running_stats=False`` as the benchmark's search scripts run it)
and factorspace's NB201 supernet from ``recipes/nb201_darts.yaml`` (``recipes/nb201_gdas.yaml``)
at the same sizes, on random images. Each side takes the same first-order search step as its
search does: the weights' SGD step on a training batch (gradient norm clipped at 5), then the
architecture's Adam step on a validation batch. xautodl's step is the loop body of
``exps/NAS-Bench-201-algos/DARTS-V1.py`` and ``GDAS.py`` (``search_func``); factorspace's is
:func:`factorspace.search.step.plain_iteration`, as ``factorspace bench`` and a search run it.

Timing: ``--warmup`` untimed rounds, then ``--steps`` rounds, each round one step of every side
in turn (A, B, A, B, ...), so that a load change on the machine falls on both. Each step is
timed by the process's CPU time (``time.process_time``: what other processes take is not
counted) and by the wall clock; both medians are printed, with factorspace / xautodl. On one
thread the CPU time is the figure to trust on a busy machine; on a quiet machine the two agree.
In GDAS mode the global seed is set to the round's number before each side's step, so that both
draw the same Gumbel samples (the same operations computed).

xautodl's layout: ``contiguous`` (NCHW, as its code runs), ``channels_last`` (the model and
inputs converted, as factorspace's search does by default), or ``both`` (two xautodl sides).

Memory (``--no-memory`` skips it): each side is built again in a fresh process (``spawn``), which
resets its peak resident set size after its imports (``/proc/self/clear_refs``) and reports the
peak (``VmHWM``) minus the resident size at that point, after its warm-up and one step: weights,
optimizer state, inputs and the step's largest working set, through the same allocator settings
(factorspace's ``keep_freed_memory``, applied to both). On CUDA: ``torch.cuda.max_memory_allocated``.

``--profile``: one step of each side under ``torch.profiler`` (three times; per operator the
smallest self CPU time, so that a preemption does not inflate one), grouped by what the operators
do. The profiler adds a fixed cost per operator, so read the shares, not the sums.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {"darts": ROOT / "recipes/nb201_darts.yaml", "gdas": ROOT / "recipes/nb201_gdas.yaml"}
NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
OURS = "factorspace"
LAYOUTS = {"contiguous": "xautodl", "channels_last": "xautodl-cl"}  # layout -> side name


@dataclass
class Side:
    name: str
    step: Callable[[], None]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(RECIPES), default="darts")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--cells", type=int, default=5, help="searched cells per stage (N)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--xautodl-layout", choices=[*LAYOUTS, "both"], default="both")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--profile", action="store_true", help="print where each step's time goes")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--set", action="append", default=[], help="override a recipe field")
    return parser.parse_args(argv)


def side_names(args: argparse.Namespace) -> list[str]:
    layouts = list(LAYOUTS) if args.xautodl_layout == "both" else [args.xautodl_layout]
    return [OURS, *(LAYOUTS[layout] for layout in layouts)]


# ------------------------------------------------------------------------------ the two sides


def build_side(name: str, args: argparse.Namespace) -> Side:
    return build_ours(args) if name == OURS else build_xautodl(args, name == "xautodl-cl")


def build_ours(args: argparse.Namespace) -> Side:
    """factorspace's supernet and step, as ``bench`` builds and times them."""
    from factorspace.bench import bench_setup

    overrides = [
        f"supernet.channels={args.channels}",
        f"supernet.cells_per_stage={args.cells}",
        f"data.image_size={args.image_size}",
        *args.set,
    ]
    setup = bench_setup(str(RECIPES[args.model]), overrides, args.device, args.batch_size, None)
    return Side(OURS, setup.step)


def build_xautodl(args: argparse.Namespace, channels_last: bool) -> Side:
    """xautodl's search model, optimizers and DARTS-V1.py / GDAS.py ``search_func`` step."""
    from factorspace.run.runtime import keep_freed_memory

    models = xautodl_models()
    device = torch.device(args.device)
    keep_freed_memory(device)  # the allocator setting factorspace's side runs with
    torch.manual_seed(1)
    model = models[args.model](
        args.channels, args.cells, 4, 10, NB201_OPS, False, False
    )  # C, N, max_nodes (3 nodes + the input), classes, ops, affine, track_running_stats
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device, memory_format=layout)
    if args.model == "gdas":
        model.set_tau(10.0)  # GDAS.sh --tau_max 10: the first epoch's temperature
    # configs/nas-benchmark/algos/DARTS.config and GDAS.config: SGD, LR 0.025, momentum 0.9,
    # decay 5e-4, Nesterov; DARTS-V1.sh / GDAS.sh: Adam 3e-4, betas (0.5, 0.999), decay 1e-3
    w_opt = torch.optim.SGD(
        model.get_weights(), lr=0.025, momentum=0.9, weight_decay=5e-4, nesterov=True
    )
    a_opt = torch.optim.Adam(model.get_alphas(), lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    shape = (args.batch_size, 3, args.image_size, args.image_size)
    x, val_x = (torch.randn(shape, device=device).contiguous(memory_format=layout) for _ in "ab")
    y, val_y = (torch.randint(0, 10, (args.batch_size,), device=device) for _ in "ab")

    def step() -> None:
        w_opt.zero_grad()
        _, logits = model(x)
        F.cross_entropy(logits, y).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5)
        w_opt.step()
        a_opt.zero_grad()
        _, logits = model(val_x)
        F.cross_entropy(logits, val_y).backward()
        a_opt.step()

    return Side(LAYOUTS["channels_last" if channels_last else "contiguous"], step)


def xautodl_models() -> dict:
    try:
        from xautodl.models.cell_searchs.search_model_darts import TinyNetworkDarts
        from xautodl.models.cell_searchs.search_model_gdas import TinyNetworkGDAS
    except ImportError as e:
        sys.exit(f"ab_nb201: xautodl is not installed ({e}): pip install --no-deps xautodl")
    return {"darts": TinyNetworkDarts, "gdas": TinyNetworkGDAS}


# ------------------------------------------------------------------------------ timing


def synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def interleaved(sides: list[Side], args: argparse.Namespace) -> dict[str, dict[str, list]]:
    """Each side's CPU and wall seconds per timed step, the sides taking turns."""
    times = {s.name: {"cpu_s": [], "wall_s": []} for s in sides}
    for round_ in range(args.warmup + args.steps):
        for side in sides:
            if args.model == "gdas":
                torch.manual_seed(round_)  # the same Gumbel draws on both sides
            synchronize(args.device)
            cpu, wall = time.process_time(), time.perf_counter()
            side.step()
            synchronize(args.device)
            if round_ >= args.warmup:
                times[side.name]["cpu_s"].append(time.process_time() - cpu)
                times[side.name]["wall_s"].append(time.perf_counter() - wall)
    return times


# ------------------------------------------------------------------------------ memory


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def warm_up_torch(device: str) -> None:
    """Run each kind of layer once at a tiny size in both layouts, so that torch's one-off
    allocations (oneDNN's kernels, autograd's and the optimizers' first use) precede the
    baseline and count for neither side."""
    for layout in (torch.contiguous_format, torch.channels_last):
        x = torch.randn(2, 8, 8, 8, device=device).contiguous(memory_format=layout)
        w = torch.randn(8, 8, 3, 3, device=device, requires_grad=True)
        y = F.batch_norm(F.conv2d(torch.relu(x), w, padding=1), None, None, training=True)
        loss = F.avg_pool2d(y, 3, 1, 1).sum() + F.conv2d(y, w[:, :1], groups=8).sum()
        loss.backward()
        for opt in (torch.optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.Adam([w])):
            opt.step()


def _memory_child(name: str, args: argparse.Namespace, queue) -> None:
    try:
        set_threads_and_cudnn(args)
        xautodl_models()  # the imports, before the baseline
        import factorspace.bench  # noqa: F401

        warm_up_torch(args.device)
        cuda = torch.device(args.device).type == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats()
            method, base = "torch.cuda.max_memory_allocated", torch.cuda.memory_allocated()
        else:
            try:
                Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
                method, base = "VmHWM - VmRSS after imports", _rss_kib("VmRSS") * 1024
            except OSError:  # not writable here: the peak since exec, an overestimate of base
                method = "ru_maxrss - ru_maxrss after imports (inherits the parent's peak)"
                base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        side = build_side(name, args)
        for round_ in range(args.warmup + 1):
            if args.model == "gdas":
                torch.manual_seed(round_)
            side.step()
        synchronize(args.device)
        if cuda:
            peak = torch.cuda.max_memory_allocated()
        elif method.startswith("VmHWM"):
            peak = _rss_kib("VmHWM") * 1024
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        queue.put(("ok", {"peak_mib": (peak - base) / 2**20, "method": method}))
    except BaseException as e:  # reported by the parent
        queue.put(("error", f"{type(e).__name__}: {e}"))


def peak_memory(name: str, args: argparse.Namespace) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_memory_child, args=(name, args, queue))
    proc.start()
    status, payload = queue.get()
    proc.join()
    if status != "ok":
        raise RuntimeError(f"memory of {name}: {payload}")
    return payload


# ------------------------------------------------------------------------------ profile

# what an operator does, by its name (first match); a depthwise convolution (weight C x 1 x k x k)
# is factorspace's 3x3 average pool (a box filter), so it counts as pooling
CATEGORIES = [
    ("convolution", ("convolution", "conv2d", "mkldnn_conv", "_convolution")),
    ("BatchNorm", ("batch_norm", "BatchNorm")),
    ("ReLU", ("relu", "clamp_min", "threshold")),
    ("pooling", ("avg_pool", "pool2d")),
    ("sums and products", ("aten::add", "aten::mul", "aten::sum", "aten::dot", "aten::div")),
    ("matrix products", ("aten::mm", "aten::addmm", "aten::linear", "aten::bmm")),
    ("copies and fills", ("copy_", "fill_", "zero_", "aten::clone", "aten::cat", "contiguous")),
    ("optimizers and clipping", ("_foreach", "Optimizer", "norm", "clip")),
]


def category(event) -> str:
    key = event.key
    if "conv" in key and any(len(s) == 4 and s[1] == 1 for s in event.input_shapes or []):
        return "pooling"
    for name, needles in CATEGORIES:
        if any(n in key for n in needles):
            return name
    return "other (autograd, softmax, loss, small ops)"


def profile_side(side: Side, repeats: int = 3) -> dict[str, float]:
    """Seconds of self CPU time per category in one step (per operator the least of
    ``repeats`` profiled steps)."""
    from torch.profiler import ProfilerActivity, profile

    best: dict[tuple, tuple[float, str]] = {}
    for _ in range(repeats):
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            side.step()
        for e in prof.key_averages(group_by_input_shape=True):
            key = (e.key, str(e.input_shapes))
            s = e.self_cpu_time_total / 1e6
            if key not in best or s < best[key][0]:
                best[key] = (s, category(e))
    out: dict[str, float] = {}
    for s, cat in best.values():
        out[cat] = out.get(cat, 0.0) + s
    return out


def print_profile(profiles: dict[str, dict[str, float]]) -> None:
    names = list(profiles)
    cats = [c for c, _ in CATEGORIES] + ["other (autograd, softmax, loss, small ops)"]
    totals = {n: sum(profiles[n].values()) for n in names}
    print("\nwhere one step's time goes (self CPU seconds under the profiler, share of its total)")
    print(f"{'':<44}" + "".join(f"{n:>22}" for n in names))
    for cat in cats:
        row = "".join(
            f"{profiles[n].get(cat, 0.0):>14.3f} ({profiles[n].get(cat, 0.0) / totals[n]:>4.0%})"
            for n in names
        )
        print(f"{cat:<44}{row}")
    print(f"{'total':<44}" + "".join(f"{totals[n]:>14.3f}       " for n in names))


# ------------------------------------------------------------------------------ main


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def set_threads_and_cudnn(args: argparse.Namespace) -> None:
    """``--threads``; on CUDA cuDNN's autotuner for both sides (as ``factorspace bench``; the
    benchmark's scripts turn it off for determinism, which costs speed)."""
    torch.set_num_threads(args.threads)
    if torch.device(args.device).type == "cuda":
        torch.backends.cudnn.benchmark = True


def run(args: argparse.Namespace) -> dict:
    set_threads_and_cudnn(args)
    names = side_names(args)
    sides = [build_side(name, args) for name in names]
    times = interleaved(sides, args)
    result = {
        "model": args.model,
        "device": args.device,
        "sizes": {
            "batch": args.batch_size,
            "image": args.image_size,
            "channels": args.channels,
            "cells_per_stage": args.cells,
        },
        "threads": args.threads,
        "steps": args.steps,
        "warmup": args.warmup,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "load_average": list(os.getloadavg()),
        "sides": {},
    }
    for name in names:
        row = {f"median_{k}": median(v) for k, v in times[name].items()}
        row.update(times[name])
        result["sides"][name] = row
    ours = result["sides"][OURS]
    for name in names[1:]:
        theirs = result["sides"][name]
        for clock in ("cpu_s", "wall_s"):
            ours[f"ratio_{clock}_to_{name}"] = ours[f"median_{clock}"] / theirs[f"median_{clock}"]
    if not args.no_memory:
        for name in names:
            result["sides"][name]["memory"] = peak_memory(name, args)
    if args.profile:
        result["profile"] = {s.name: profile_side(s) for s in sides}
    return result


def report(result: dict) -> None:
    sizes = result["sizes"]
    print(
        f"NB201 {result['model']} search step on {result['device']}, batch {sizes['batch']}, "
        f"{sizes['image']} px, C{sizes['channels']}, N{sizes['cells_per_stage']}, "
        f"{result['threads']} thread(s), median of {result['steps']} after {result['warmup']} "
        f"warm-up; load average {result['load_average'][0]:.2f} at the end"
    )
    print(f"{'side':<14}{'CPU s':>9}{'wall s':>9}{'peak MiB':>10}   factorspace / side (CPU, wall)")
    ours = result["sides"][OURS]
    for name, row in result["sides"].items():
        mem = row.get("memory", {}).get("peak_mib", float("nan"))
        ratio = ""
        if name != OURS:
            cpu, wall = ours[f"ratio_cpu_s_to_{name}"], ours[f"ratio_wall_s_to_{name}"]
            ratio = f"   {cpu:.3f}x, {wall:.3f}x"
        line = f"{name:<14}{row['median_cpu_s']:>9.3f}{row['median_wall_s']:>9.3f}{mem:>10.0f}"
        print(line + ratio)
    methods = {r["memory"]["method"] for r in result["sides"].values() if "memory" in r}
    if methods:
        print(f"peak memory: {', '.join(sorted(methods))}, each side in a fresh process")
    if "profile" in result:
        print_profile(result["profile"])


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    xautodl_models()  # fail early, with the install command
    from factorspace.errors import FactorspaceError

    try:
        result = run(args)
    except FactorspaceError as e:  # a bad --set or size: one line, as the CLI says it
        sys.exit(print(f"ab_nb201: {e}", file=sys.stderr) or 2)
    report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
