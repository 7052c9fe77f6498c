"""Search-cost benchmark: time, memory and throughput of a search step, per recipe.

Each recipe is measured in a fresh subprocess so that peak memory (CPU: peak RSS; CUDA: max
allocated) belongs to that recipe alone. Inputs are random tensors: this measures the supernet
and the update rule, not data loading.

Ratios between recipes measured in separate processes move with whatever else the machine does
in between (measured: A-DARTS / DARTS forward+backward 1.17x, 1.20x and 1.29x in three calls on a
quiet VM). ``interleave=True`` also times the recipes in one process, alternating them at every
repetition, so that such drift falls on all of them alike (:func:`measure_interleaved`).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import statistics
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from factorspace.compile import compile_supernet
from factorspace.loader import load_recipe
from factorspace.ops import fused_kernel
from factorspace.run.device import supernet_memory_format
from factorspace.run.precision import autocast
from factorspace.run.runtime import keep_freed_memory
from factorspace.schema import SearchConfig
from factorspace.search import optim
from factorspace.search.step import passes_per_iteration, plain_iteration


@dataclass
class BenchResult:
    recipe: str
    device: str
    batch_size: int
    update: str
    order: str  # search.order: first, or second (DARTS's unrolled gradient)
    step_order: str  # search.step_order: weights_first (Algorithm 1) or arch_first (DARTS)
    forward_backward_s: float
    step_s: float
    forward_backward_cpu_s: float  # the same medians in CPU time (all threads): steadier on a
    step_cpu_s: float  # shared machine, where other processes take the cores
    images_per_s: float
    gflop_per_step: float
    gflop_per_s: float
    peak_memory_mib: float
    passes_per_step: int
    precision: str
    channels_last: bool
    compile: bool
    compile_s: float  # search.compile: the first compiled forward/backward and step, compiling
    mixing: str  # which path computes the mixed activation (the search header's line)
    mixing_compile_s: float  # compiling (or loading) the fused kernels before the first step


RATIOS = ("forward_backward_s", "step_s", "forward_backward_cpu_s", "step_cpu_s", "peak_memory_mib")
INTERLEAVED = (
    "forward_backward_interleaved_s",
    "forward_backward_interleaved_cpu_s",
    "step_interleaved_s",
    "step_interleaved_cpu_s",
)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_medians(
    calls: Mapping[Hashable, Callable[[], object]],
    device: torch.device,
    steps: int,
    warmup: int,
) -> dict[Hashable, tuple[float, float]]:
    """Name -> median wall and CPU seconds (``time.process_time``: this process's threads) of
    each call, after ``warmup`` untimed calls each; the calls take turns at every repetition, so
    that a load that changes meanwhile falls on all of them alike."""
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    wall: dict[Hashable, list[float]] = {name: [] for name in calls}
    cpu: dict[Hashable, list[float]] = {name: [] for name in calls}
    for _ in range(steps):
        for name, fn in calls.items():
            synchronize(device)
            t, c = time.perf_counter(), time.process_time()
            fn()
            synchronize(device)
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in calls}


def median_time(fn, device: torch.device, steps: int, warmup: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn``."""
    return interleaved_medians({"fn": fn}, device, steps, warmup)["fn"]


@dataclass
class BenchSetup:
    """A recipe's supernet on random inputs, with the two timed calls."""

    net: torch.nn.Module
    config: SearchConfig
    device: torch.device
    batch_size: int
    arch_optimizers: dict
    forward_backward: Callable[[], None]  # one forward and backward of the supernet
    step: Callable[[], None]  # one whole search step, as the recipe's search takes it
    mixing: fused_kernel.Prepared  # the mixed activation's path, its kernels compiled


def bench_setup(
    recipe_path: str,
    overrides: list[str],
    device: str,
    batch_size: int | None,
    update: str | None,
) -> BenchSetup:
    """Build what ``bench`` times (also used by ``scripts/profile_step.py``)."""
    recipe = load_recipe(recipe_path, overrides)
    device_ = torch.device(device)
    keep_freed_memory(device_)  # CPU: malloc keeps activation buffers, no page faults per step
    cfg = recipe.search
    if update:
        cfg = cfg.model_copy(update={"update": update})
    batch = batch_size or cfg.batch_size
    torch.manual_seed(0)
    net = compile_supernet(recipe.space, recipe.supernet, device_, recipe.search)
    memory_format = supernet_memory_format(recipe, device_)
    net = net.to(memory_format=memory_format)
    size = recipe.data.image_size
    shape = (batch, recipe.supernet.in_channels, size, size)
    x = torch.randn(shape, device=device_).contiguous(memory_format=memory_format)
    y = torch.randint(0, recipe.supernet.classes, (batch,), device=device_)
    val_x = torch.randn(shape, device=device_).contiguous(memory_format=memory_format)
    val_y = torch.randint(0, recipe.supernet.classes, (batch,), device=device_)
    w_opt, _ = optim.weight_optimizer(net, cfg)
    a_opts = optim.arch_optimizers(net, cfg)
    mixing = fused_kernel.prepare(recipe, device_)  # as the search does, before its first step

    def forward_backward():
        net.zero_grad(set_to_none=True)
        with autocast(device_, cfg.precision):
            loss = F.cross_entropy(net(x).float(), y)
        loss.backward()

    def step():  # the recipe's step: step_order, order (first/second) and update
        plain_iteration(net, w_opt, a_opts, (x, y), (val_x, val_y), cfg, device_)

    return BenchSetup(net, cfg, device_, batch, a_opts, forward_backward, step, mixing)


def measure(
    recipe_path: str,
    overrides: list[str],
    device: str,
    batch_size: int | None,
    steps: int,
    warmup: int,
    update: str | None,
) -> BenchResult:
    setup = bench_setup(recipe_path, overrides, device, batch_size, update)
    net, cfg, device_, batch = setup.net, setup.config, setup.device, setup.batch_size
    forward_backward, step, a_opts = setup.forward_backward, setup.step, setup.arch_optimizers
    if device_.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device_)
    with FlopCounterMode(display=False) as counter:
        forward_backward()
    flops_fb = counter.get_total_flops()  # counted eagerly: the compiled function does the same
    compile_s = 0.0
    if cfg.compile:
        net.compile_mixing()
        started = time.perf_counter()
        forward_backward()
        step()
        synchronize(device_)
        compile_s = time.perf_counter() - started
    passes = passes_per_iteration(cfg, len(a_opts))
    with torch.backends.cudnn.flags(enabled=True, benchmark=True):
        fb, fb_cpu = median_time(forward_backward, device_, steps, warmup)
        st, st_cpu = median_time(step, device_, steps, warmup)
    if device_.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device_) / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux
    gflop_step = flops_fb * passes / 1e9
    return BenchResult(
        recipe=Path(recipe_path).stem,
        device=str(device_),
        batch_size=batch,
        update=cfg.update,
        order=cfg.order,
        step_order=cfg.step_order,
        forward_backward_s=fb,
        step_s=st,
        forward_backward_cpu_s=fb_cpu,
        step_cpu_s=st_cpu,
        images_per_s=batch / st,
        gflop_per_step=gflop_step,
        gflop_per_s=gflop_step / st,
        peak_memory_mib=peak,
        passes_per_step=passes,
        precision=cfg.precision,
        channels_last=cfg.channels_last,
        compile=cfg.compile,
        compile_s=compile_s,
        mixing=setup.mixing.line.removeprefix("mixed activation: "),
        mixing_compile_s=setup.mixing.compile_s,
    )


def measure_interleaved(
    recipe_paths: list[str],
    overrides: list[str],
    device: str,
    batch_size: int | None,
    steps: int,
    warmup: int,
    update: str | None,
) -> list[dict]:
    """Every recipe's forward/backward and step timed in one process, the recipes taking turns at
    each repetition; per recipe the median wall and CPU seconds (:data:`INTERLEAVED`). Needs all
    the recipes' supernets in memory at once."""
    setups = [bench_setup(p, overrides, device, batch_size, update) for p in recipe_paths]
    rows: list[dict] = [{} for _ in setups]
    for name in ("forward_backward", "step"):
        calls = {k: getattr(s, name) for k, s in enumerate(setups)}
        medians = interleaved_medians(calls, setups[0].device, steps, warmup)
        for k, row in enumerate(rows):
            row[f"{name}_interleaved_s"], row[f"{name}_interleaved_cpu_s"] = medians[k]
    return rows


def _child(queue, fn, args) -> None:
    try:
        result = fn(*args)
        queue.put(("ok", asdict(result) if isinstance(result, BenchResult) else result))
    except Exception as e:  # reported by the parent as one line
        queue.put(("error", f"{e.__class__.__name__}: {e}"))


def _isolated(fn, args, what: str):
    """``fn(*args)`` in a fresh spawned process (its peak memory its own); errors as one line."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, fn, args))
    proc.start()
    status, payload = _child_result(queue, proc)
    proc.join()
    if status == "error":
        from factorspace.errors import FactorspaceError

        raise FactorspaceError(f"bench {what}: {payload}")
    return payload


def bench(
    recipes: list[str],
    *,
    overrides: list[str] = (),
    device: str = "cpu",
    batch_size: int | None = None,
    steps: int = 3,
    warmup: int = 1,
    update: str | None = None,
    isolate: bool = True,
    interleave: bool = False,
    rounds: int = 1,
) -> list[dict]:
    """Measure every recipe; each row also carries its ratios to the first recipe. With
    ``interleave``, the rows also hold the :data:`INTERLEAVED` timings and their ratios.

    ``rounds``: each recipe measured that many times, in turns (the recipes in order, then
    again), each time in a fresh process; a row's times are the median over its rounds and its
    peak memory the largest (:func:`combined_rounds`). Two processes minutes apart drift by
    about 10 % on a shared VM (docs/performance.md); turns spread the drift over every recipe."""
    runs: list[list[dict]] = [[] for _ in recipes]
    for _ in range(rounds):
        for k, path in enumerate(recipes):
            args = (str(path), list(overrides), device, batch_size, steps, warmup, update)
            runs[k].append(
                _isolated(measure, args, str(path)) if isolate else asdict(measure(*args))
            )
    rows = [combined_rounds(r) for r in runs]
    keys = RATIOS
    if interleave:
        args = ([str(p) for p in recipes], list(overrides), device, batch_size, steps, warmup,
                update)  # fmt: skip
        together = (
            _isolated(measure_interleaved, args, "--interleave")
            if isolate
            else measure_interleaved(*args)
        )
        for row, timings in zip(rows, together, strict=True):
            row.update(timings)
        keys = RATIOS + INTERLEAVED
    base = rows[0]
    for row in rows:
        for key in keys:
            row[f"{key}_ratio"] = row[key] / base[key] if base[key] else float("nan")
    return rows


ROUND_TIMES = ("forward_backward_s", "step_s", "forward_backward_cpu_s", "step_cpu_s")


def combined_rounds(runs: list[dict]) -> dict:
    """One recipe's row from its rounds' rows: the first round's, with each of
    :data:`ROUND_TIMES` the median over the rounds (its rate and throughput from it), the peak
    memory the largest, ``rounds`` their number and ``forward_backward_cpu_s_rounds`` each
    round's forward/backward CPU seconds, in order."""
    row = dict(runs[0])
    for key in ROUND_TIMES:
        row[key] = statistics.median(r[key] for r in runs)
    row["peak_memory_mib"] = max(r["peak_memory_mib"] for r in runs)
    row["images_per_s"] = row["batch_size"] / row["step_s"]
    row["gflop_per_s"] = row["gflop_per_step"] / row["step_s"]
    row["rounds"] = len(runs)
    row["forward_backward_cpu_s_rounds"] = [r["forward_backward_cpu_s"] for r in runs]
    return row


def _child_result(queue, proc, poll_s: float = 5.0) -> tuple[str, object]:
    """The isolated child's ``(status, payload)``, or an error if it died without one (the OOM
    killer, a signal): ``queue.get()`` alone would wait forever."""
    import queue as queues

    while True:
        try:
            return queue.get(timeout=poll_s)
        except queues.Empty:
            if not proc.is_alive():
                return "error", f"the measuring process died (exit code {proc.exitcode})"
