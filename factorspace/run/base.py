"""What a search and a re-training share: the run directory, the position (epoch, step), the
checkpoint (save, restore), ``run.json``'s status, stopping on signals, and a start that leaves
nothing behind when it fails.

A run subclasses :class:`Run` and says what its checkpoint holds beyond the position
(:meth:`Run.state`, :meth:`Run.load_state`); :func:`open_run` makes it in a prepared directory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import torch
from rich.console import Console

from factorspace.errors import FactorspaceError
from factorspace.run.atomic import dump_yaml, write_json
from factorspace.run.checkpoint import load_checkpoint, save_checkpoint
from factorspace.run.distributed import SINGLE, DistributedContext
from factorspace.run.environment import environment
from factorspace.run.rundir import MetricsLog, RunDir, discard_on_failure, prepare_run_dir
from factorspace.run.seeding import rng_state, set_rng_state
from factorspace.run.stopping import StopOnSignal, ends_recorded

R = TypeVar("R", bound="Run")
POSITION = frozenset(["epoch", "step", "totals", "rng"])  # in every run's checkpoint


class Run:
    """One run's directory, device, position and metrics; subclasses add the model and the loop.

    Only the main process of a distributed run (``distributed.is_main``) writes or prints.
    """

    kind = "search"  # `factorspace KIND` makes this run (named in a foreign checkpoint's error)
    command = "search"  # `factorspace COMMAND ... --out RUN_DIR --resume` continues it
    checkpoint_keys: frozenset[str] = POSITION  # what restore requires of a checkpoint

    def __init__(
        self,
        run_dir: Path,
        device: torch.device,
        console: Console | None,
        distributed: DistributedContext = SINGLE,
    ) -> None:
        self.run_dir, self.paths = Path(run_dir), RunDir(run_dir)
        self.device, self.dist = device, distributed
        self.console = console if distributed.is_main else None
        self.metrics = MetricsLog(self.paths)
        self.rows: list[dict] = []
        self.epoch, self.step = 0, 0
        self.totals: dict = {}
        self.stop = StopOnSignal()

    # ---- what a subclass defines -------------------------------------------------------------
    def state(self) -> dict:
        """The checkpoint: the position (:meth:`position`) and what the subclass adds."""
        return self.position()

    def load_state(self, state: dict, path: Path) -> None:
        """Load the subclass's part of ``state`` (read from ``path``) into the run."""

    # ---- checkpoints -------------------------------------------------------------------------
    def position(self) -> dict:
        return {"epoch": self.epoch, "step": self.step, "totals": self.totals, "rng": rng_state()}

    def save(self) -> None:
        if self.dist.is_main:
            save_checkpoint(self.paths.checkpoint, self.state())

    def restore(self) -> None:
        """Continue from the checkpoint: state, position, random state and the metrics so far.

        Raises:
            FactorspaceError: no readable checkpoint of this kind of run, or one that does not fit.
        """
        path = self.paths.checkpoint
        state = self.dist.run_on_main(load_checkpoint, path)  # rank 0's, on every process
        if not isinstance(state, dict) or not set(state) >= self.checkpoint_keys:
            raise FactorspaceError(f"{path}: not a checkpoint of `factorspace {self.kind}`")
        self.load_state(state, path)
        self.epoch, self.step, self.totals = state["epoch"], state["step"], state["totals"]
        set_rng_state(state["rng"])
        self.rows = self.dist.run_on_main(self.metrics.rows)[: self.epoch]

    # ---- run.json ----------------------------------------------------------------------------
    def record_start(self, resolved: dict, **fields: Any) -> None:
        """Write the resolved recipe and ``run.json`` (status running, ``fields``, environment)."""
        if self.dist.is_main:
            dump_yaml(self.paths.recipe, resolved)
            record = {"status": "running", **fields, "env": environment(self.device)}
            write_json(self.paths.record, record)

    def set_status(self, status: str, **extra: Any) -> None:
        if self.dist.is_main:
            self.paths.update_record(status=status, epochs_done=self.epoch, **extra)

    @contextlib.contextmanager
    def recorded_end(self):
        """Around the loop: signals handled, and an early end (a signal, an error) recorded in
        ``run.json`` as :func:`factorspace.run.stopping.ends_recorded` says."""
        with self.stop, ends_recorded(self, self.command, self.paths.checkpoint):
            yield


def open_run(
    out: Path | None,
    name: str,
    resume: bool,
    build: Callable[[Path], R],
    *,
    distributed: DistributedContext = SINGLE,
    checks: Iterable[Callable[[Path], None]] = (),
) -> R:
    """The run ``build(run_dir)`` makes in the run directory ``out`` (None: a new
    ``runs/NAME-TIME``), prepared by :func:`~factorspace.run.rundir.prepare_run_dir`.

    Resuming, each of ``checks(run_dir)`` runs first (on the main process, its error raised on
    every one). A new run whose ``build`` fails leaves no directory behind (an ``out`` that
    existed, empty, is emptied again).
    """
    existed = out is not None and out.exists()
    run_dir = distributed.run_on_main(prepare_run_dir, out, name, resume)
    if resume:
        for check in checks:
            distributed.run_on_main(check, run_dir)
        return build(run_dir)
    with discard_on_failure(run_dir, existed, owner=distributed.is_main):
        return build(run_dir)
