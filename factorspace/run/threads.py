"""How many CPU threads a process (or each of its workers) uses: the cores it was given.

The cores are the fewest of ``--threads`` (a command's option), ``OMP_NUM_THREADS`` (a user's
limit), the CPU affinity (``os.sched_getaffinity``: taskset, SLURM's binding) and the cgroup
quota (``cpu.max``: a container's limit). torch's own default is the machine's core count,
which ignores the last two: a container allowed 2 of 64 cores would run 64 threads.
Oversubscribing a CPU makes OpenMP's spinning threads thrash (a search on a loaded 2-core
machine ran at 1 image/s with the default threads, 20 with one thread: issue 21), so a runner
that starts several workers (``factorspace study --workers``, ``search --seeds`` with workers)
gives each an equal share (:func:`threads_per_worker`) instead of all of them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cgroup_cores(text: str | None) -> int | None:
    """The cores a cgroup v2 ``cpu.max`` (``QUOTA PERIOD`` or ``max PERIOD``) allows; None: no limit."""
    if not text:
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    return max(1, math.ceil(int(parts[0]) / int(parts[1])))


def affinity_cores() -> int:
    """The CPUs this process may run on (all of them where affinity is not supported)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def env_threads(env: Mapping[str, str]) -> int | None:
    """``OMP_NUM_THREADS`` as a positive integer; None when unset or not one."""
    value = env.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def available_cores(
    env: Mapping[str, str] | None = None,
    affinity: int | None = None,
    cpu_max: str | None = None,
    requested: int | None = None,
) -> int:
    """The cores this process may use: the tightest of ``requested`` (``--threads``),
    ``OMP_NUM_THREADS``, the affinity and the cgroup quota (see the module's docstring).

    Arguments default to this process's (tests pass fakes).
    """
    env = os.environ if env is None else env
    if affinity is None:
        affinity = affinity_cores()
    if cpu_max is None and CPU_MAX.is_file():
        cpu_max = CPU_MAX.read_text()
    limits = [affinity or 1, cgroup_cores(cpu_max), env_threads(env), requested]
    return min(n for n in limits if n is not None)


def threads_per_worker(workers: int, cores: int) -> int:
    """Each of ``workers`` processes' threads: an equal share of ``cores``, at least one."""
    return max(1, cores // workers)


def worker_env(slot: int, threads: int, gpus: int, base: Mapping[str, str]) -> dict[str, str]:
    """The environment of worker ``slot``: its threads (read when torch starts) and, with several
    GPUs, one of them."""
    env = {**base, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    if gpus > 1:
        visible = base.get("CUDA_VISIBLE_DEVICES")
        ids = visible.split(",") if visible else [str(i) for i in range(gpus)]
        env["CUDA_VISIBLE_DEVICES"] = ids[slot % len(ids)]
    return env


def use_threads(requested: int | None = None) -> int:
    """Set this process's torch threads to :func:`available_cores` (``requested``: a command's
    ``--threads``) and return the count. Like ``torch.set_num_threads``, a process setting."""
    import torch

    threads = available_cores(requested=requested)
    torch.set_num_threads(threads)
    return threads
