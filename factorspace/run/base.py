"""What a search and a re-training share: the run directory, the position (epoch, step), the
checkpoint (save, restore), ``run.json``'s status, stopping on signals, and a start that leaves
nothing behind when it fails.

A run subclasses :class:`Run` and says what its checkpoint holds beyond the position
(:meth:`Run.state`, :meth:`Run.load_state`); :func:`open_run` makes it in a claimed directory,
locked for this process, and ``with run:`` releases the lock at its end, recording any error
that escapes as the run's failure.
"""

from __future__ import annotations

import contextlib
import json
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
from factorspace.run.lock import RunLock
from factorspace.run.rundir import MetricsLog, RunDir, claim_run_dir, discard_on_failure
from factorspace.run.seeding import rng_state, set_rng_state
from factorspace.run.stopping import StopOnSignal, ends_recorded, failure_reason, resume_command

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
        self.lock: RunLock | None = None  # held from open_run to the end of `with run:`
        self.resuming = False  # open_run: continue from the checkpoint (else from the start)
        self.started = False  # run.json says running because of this process

    # ---- the run's life ------------------------------------------------------------------------
    def __enter__(self: R) -> R:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """Record an error that escaped after the start (``failed``, with its reason; a
        ``KeyboardInterrupt``: ``interrupted``) unless an end is recorded; release the lock."""
        try:
            if error is not None and self.started and self.dist.is_main:
                self.record_end(error)
        finally:
            if self.lock is not None:
                self.lock.release()

    def record_end(self, error: BaseException) -> None:
        """``failed`` (with the reason) or, for a ``KeyboardInterrupt``, ``interrupted``, where
        ``run.json`` still says running; a run.json that cannot be read is left as it is (the
        error itself matters more)."""
        try:
            if self.paths.status() != "running":
                return
            if isinstance(error, KeyboardInterrupt):
                self.set_status("interrupted")
            else:  # any other error, SystemExit from user code among them
                self.set_status("failed", error=failure_reason(error))
        except (OSError, ValueError):
            pass

    def say(self, message: str) -> None:
        """Tell the user (the main process's console, if any)."""
        if self.console is not None:
            self.console.print(message, highlight=False, markup=False, soft_wrap=True)

    # ---- what a subclass defines -------------------------------------------------------------
    def state(self) -> dict:
        """The checkpoint: the position (:meth:`position`) and what the subclass adds."""
        return self.position()

    def load_state(self, state: dict, path: Path) -> None:
        """Load the subclass's part of ``state`` (read from ``path``) into the run."""

    # ---- checkpoints -------------------------------------------------------------------------
    def position(self) -> dict:
        """Where the run is, with the metrics rows so far (checked against metrics.jsonl)."""
        return {
            "epoch": self.epoch,
            "step": self.step,
            "totals": self.totals,
            "rng": rng_state(),
            "rows": list(self.rows),
        }

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
        self.rows = self.dist.run_on_main(self.checked_rows, state.get("rows"), path)
        self.started = True
        self.set_status("running")

    def checked_rows(self, saved: list[dict] | None, path: Path) -> list[dict]:
        """The metrics rows to continue with: ``metrics.jsonl``'s up to the checkpoint's epoch,
        or, where they are missing or differ, the checkpoint's (``saved``), written back and
        said (a checkpoint without rows: the file's, unchecked)."""
        try:
            on_disk = self.metrics.rows()
        except ValueError:  # a line that is not JSON: the file is not to be trusted
            on_disk = []
        if saved is None:
            return on_disk[: self.epoch]
        if same_rows(on_disk[: len(saved)], saved):
            return list(saved)
        problem = rows_problem(self.metrics.jsonl, on_disk, saved)
        self.metrics.write(saved)
        self.say(f"{problem}; rewritten from the checkpoint {path}")
        return list(saved)

    def checkpoint_note(self) -> str:
        """Where a run that stops on an error can be continued from: the checkpoint, or none."""
        path = self.paths.checkpoint
        if path.is_file():
            return f"the last good checkpoint stays: {path}"
        return (
            f"no checkpoint was written yet ({path} does not exist), so "
            f"{resume_command(self.command, self.run_dir)} starts the run again from the beginning"
        )

    # ---- run.json ----------------------------------------------------------------------------
    def record_start(self, resolved: dict, **fields: Any) -> None:
        """Write the resolved recipe and ``run.json`` (status running, ``fields``, environment)."""
        if self.dist.is_main:
            dump_yaml(self.paths.recipe, resolved)
            record = {"status": "running", **fields, "env": environment(self.device)}
            write_json(self.paths.record, record)
        self.started = True

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
    ``runs/NAME-TIME``), claimed and locked by :func:`~factorspace.run.rundir.claim_run_dir`;
    use it as ``with run:`` to release the lock at its end. ``run.resuming`` is False where
    ``resume`` found no checkpoint (the run starts again; a note says so).

    Resuming, each of ``checks(run_dir)`` runs first (on the main process, its error raised on
    every one). A new run whose ``build`` fails leaves no directory behind (an ``out`` that
    existed, empty, is emptied again).
    """
    existed = out is not None and out.exists()
    locks: list[RunLock] = []  # the main process's

    def claim() -> tuple[Path, bool, str | None]:
        taken = claim_run_dir(out, name, resume, checks)
        locks.append(taken.lock)
        return taken.root, taken.resume, taken.note

    run_dir, resuming, note = distributed.run_on_main(claim)
    try:
        if resuming:
            run = build(run_dir)
        else:
            with discard_on_failure(run_dir, existed, owner=distributed.is_main):
                run = build(run_dir)
    except BaseException:
        for lock in locks:
            lock.release()
        raise
    run.lock, run.resuming = (locks[0] if locks else None), resuming
    if note is not None:
        run.say(note)
    return run


def same_rows(a: list[dict], b: list[dict]) -> bool:
    """Equal as metrics.jsonl writes them (a NaN equals a NaN)."""
    return [json.dumps(r) for r in a] == [json.dumps(r) for r in b]


def rows_problem(jsonl: Path, on_disk: list[dict], saved: list[dict]) -> str:
    """What is wrong with ``metrics.jsonl``'s rows against the checkpoint's ``saved``."""
    if not jsonl.exists():
        held = (
            "the row of epoch 1 is" if len(saved) == 1 else f"the rows of epochs 1-{len(saved)} are"
        )
        return f"{jsonl}: missing ({held} in the checkpoint)"
    missing = [r.get("epoch", i + 1) for i, r in enumerate(saved) if i >= len(on_disk)]
    differ = [
        r.get("epoch", i + 1)
        for i, r in enumerate(saved)
        if i < len(on_disk) and not same_rows([on_disk[i]], [r])
    ]
    parts = [f"no row for epoch(s) {epochs(missing)}"] if missing else []
    parts += [f"row(s) of epoch(s) {epochs(differ)} differ from the checkpoint's"] if differ else []
    return f"{jsonl}: " + " and ".join(parts)


def epochs(numbers: list) -> str:
    return ", ".join(str(n) for n in numbers)
