"""The study runner's thread split: :mod:`factorspace.run.threads` (kept importable here)."""

from __future__ import annotations

from factorspace.run.threads import (
    CPU_MAX,
    available_cores,
    cgroup_cores,
    threads_per_worker,
    worker_env,
)

__all__ = ["CPU_MAX", "available_cores", "cgroup_cores", "threads_per_worker", "worker_env"]
