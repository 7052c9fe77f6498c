"""How many CPU threads each worker gets: the cores this process may use, split between workers.

The cores are the fewest of ``OMP_NUM_THREADS`` (a user's limit), the CPU affinity
(``os.sched_getaffinity``: taskset, SLURM's binding) and the cgroup quota (``cpu.max``: a
container's limit). Oversubscribing a CPU makes OpenMP's spinning threads thrash (a search on a
loaded 2-core machine ran at 1 image/s with the default threads, 20 with one thread: issue 21).
"""

from __future__ import annotations

import math
import os
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


def available_cores(
    env: dict[str, str] | None = None,
    affinity: int | None = None,
    cpu_max: str | None = None,
) -> int:
    """The cores this process may use (see the module's docstring); arguments default to the system's."""
    env = os.environ if env is None else env
    if affinity is None:
        affinity = (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        )
    if cpu_max is None and CPU_MAX.is_file():
        cpu_max = CPU_MAX.read_text()
    limits = [affinity or 1, cgroup_cores(cpu_max)]
    if env.get("OMP_NUM_THREADS", "").isdigit() and int(env["OMP_NUM_THREADS"]) > 0:
        limits.append(int(env["OMP_NUM_THREADS"]))
    return min(n for n in limits if n is not None)


def threads_per_worker(workers: int, cores: int) -> int:
    """Each of ``workers`` processes' threads: an equal share of ``cores``, at least one."""
    return max(1, cores // workers)


def worker_env(slot: int, threads: int, gpus: int, base: dict[str, str]) -> dict[str, str]:
    """The environment of worker ``slot``: its threads (read when torch starts) and, with several
    GPUs, one of them."""
    env = {**base, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    if gpus > 1:
        visible = base.get("CUDA_VISIBLE_DEVICES")
        ids = visible.split(",") if visible else [str(i) for i in range(gpus)]
        env["CUDA_VISIBLE_DEVICES"] = ids[slot % len(ids)]
    return env
