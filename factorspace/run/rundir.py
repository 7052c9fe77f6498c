"""Run directories: where a search or a training leaves everything, by name, never mixed.

A search's directory holds ``recipe.yaml`` (resolved), ``run.json`` (environment, status),
``metrics.jsonl`` and ``metrics.csv`` (a row per epoch), ``arch/epoch_NNN.json`` (every factor's
weights and logits), ``genotypes/epoch_NNN.json``, ``genotype.json`` (final),
``checkpoints/last.pt``, ``run.log`` (what it printed), ``tensorboard/`` and ``run.lock`` (held by the process running it,
:mod:`factorspace.run.lock`) (and, after ``factorspace report``, ``plots/`` and
``report.html``). A re-training's holds the recipe, the genotype,
``run.json``, the metrics and the checkpoint. A multi-seed parent holds ``seed_N/`` runs and
``summary.json``/``summary.csv``. :class:`RunDir` names every one of these paths; every file is
written atomically (:mod:`factorspace.run.atomic`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factorspace.errors import FactorspaceError
from factorspace.run.atomic import atomic_write_bytes, atomic_write_text, write_json
from factorspace.run.lock import LOCK_FILE, RunLock

__all__ = [  # atomic_write_*: also importable from here (factorspace.viz reads them from here)
    "Claim",
    "MetricsLog",
    "RunDir",
    "atomic_write_bytes",
    "atomic_write_text",
    "claim_empty_dir",
    "claim_run_dir",
    "discard_on_failure",
    "new_run_dir",
    "prepare_run_dir",
    "seed_runs",
]

EPOCH_FILE = "epoch_{:03d}.json"
EPOCH_GLOB = "epoch_*.json"


class UnreadableRecord(FactorspaceError, ValueError):
    """A ``run.json`` that is empty, not JSON or not a mapping."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(
            f"{path}: not a readable run record ({why}); factorspace writes it atomically, so "
            "something else changed it: put back a copy, or start the run again in another --out"
        )


@dataclass(frozen=True)
class RunDir:
    """The files of a run directory (or of a multi-seed parent) at ``root``, by name."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # ---- a run ---------------------------------------------------------------------------------
    @property
    def recipe(self) -> Path:
        return self.root / "recipe.yaml"

    @property
    def record(self) -> Path:
        """``run.json``: the environment, the status and the results."""
        return self.root / "run.json"

    @property
    def metrics_jsonl(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def metrics_csv(self) -> Path:
        return self.root / "metrics.csv"

    @property
    def genotype(self) -> Path:
        """The final genotype (a re-training: the genotype it trains)."""
        return self.root / "genotype.json"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoints" / "last.pt"

    @property
    def run_log(self) -> Path:
        """``run.log``: every line the run printed, plain (:mod:`factorspace.run.progress`)."""
        return self.root / "run.log"

    @property
    def lock(self) -> Path:
        """``run.lock``: held by the process running the run (:mod:`factorspace.run.lock`)."""
        return self.root / LOCK_FILE

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def arch_dir(self) -> Path:
        return self.root / "arch"

    @property
    def genotypes_dir(self) -> Path:
        return self.root / "genotypes"

    @property
    def plots_dir(self) -> Path:
        """Where ``factorspace report`` draws a run's plots."""
        return self.root / "plots"

    @property
    def report(self) -> Path:
        """``factorspace report``'s page."""
        return self.root / "report.html"

    def arch(self, epoch: int) -> Path:
        """``arch/epoch_NNN.json``: the architecture after ``epoch`` (from 1)."""
        return self.arch_dir / EPOCH_FILE.format(epoch)

    def epoch_genotype(self, epoch: int) -> Path:
        """``genotypes/epoch_NNN.json``: the genotype derived after ``epoch`` (from 1)."""
        return self.genotypes_dir / EPOCH_FILE.format(epoch)

    def arch_records(self) -> list[Path]:
        """The ``arch/epoch_NNN.json`` files there are, in epoch order."""
        return sorted(self.arch_dir.glob(EPOCH_GLOB))

    def epoch_genotypes(self) -> list[Path]:
        """The ``genotypes/epoch_NNN.json`` files there are, in epoch order."""
        return sorted(self.genotypes_dir.glob(EPOCH_GLOB))

    # ---- run.json ------------------------------------------------------------------------------
    def read_record(self) -> dict[str, Any]:
        """``run.json`` (empty where there is none).

        Raises:
            UnreadableRecord: it is empty, not JSON or not a mapping (a ValueError too).
        """
        if not self.record.exists():
            return {}
        try:
            record = json.loads(self.record.read_text())
        except ValueError as e:  # empty, not JSON, not UTF-8
            raise UnreadableRecord(self.record, e.__class__.__name__) from None
        if not isinstance(record, dict):
            raise UnreadableRecord(self.record, f"a JSON {type(record).__name__}, not a mapping")
        return record

    def status(self) -> str | None:
        """``run.json``'s status (running, complete, interrupted...); None without one."""
        return self.read_record().get("status")

    def update_record(self, **fields: Any) -> None:
        """Merge ``fields`` (status, epochs done, results) into ``run.json``."""
        write_json(self.record, {**self.read_record(), **fields})

    # ---- a multi-seed parent -------------------------------------------------------------------
    @property
    def summary_json(self) -> Path:
        return self.root / "summary.json"

    @property
    def summary_csv(self) -> Path:
        return self.root / "summary.csv"

    @property
    def retrain_dir(self) -> Path:
        """Where ``factorspace train PARENT`` re-trains a parent's runs by default."""
        return self.root / "retrain"

    def seed_run(self, seed: int) -> RunDir:
        return RunDir(self.root / f"seed_{seed}")

    def is_seed_parent(self) -> bool:
        """A ``search --seeds`` parent: no ``run.json`` of its own, ``seed_N/`` runs under it."""
        return (
            self.root.is_dir()
            and not self.record.exists()
            and any(d.is_dir() and re.fullmatch(r"seed_-?\d+", d.name) for d in self.root.iterdir())
        )

    def seeds(self) -> list[int]:
        """The seeds of a ``search --seeds`` parent's ``seed_N/`` directories, in order."""
        found = (re.fullmatch(r"seed_(-?\d+)", d.name) for d in self.root.iterdir() if d.is_dir())
        return sorted(int(m.group(1)) for m in found if m)


def seed_runs(parent: Path | str) -> list[Path]:
    """The run directories under a multi-seed parent (those with a genotype), in natural order."""
    runs = [d for d in Path(parent).iterdir() if d.is_dir() and RunDir(d).genotype.is_file()]
    return sorted(
        runs, key=lambda d: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", d.name)]
    )


def new_run_dir(base: Path, name: str, suffix: str = "") -> Path:
    """A fresh directory ``base/name-YYYYmmdd-HHMMSS<suffix>`` (numbered if it exists)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base.mkdir(parents=True, exist_ok=True)
    candidate, n = base / f"{name}-{stamp}{suffix}", 1
    while True:
        try:
            candidate.mkdir()  # atomic: two runs started at once never share a directory
            return candidate
        except FileExistsError:
            n += 1
            candidate = base / f"{name}-{stamp}{suffix}-{n}"


def claim_empty_dir(out: Path) -> Path:
    """``out``, created, refusing one that holds anything (but an unheld lock file): a new run
    never mixes into another."""
    if out.exists() and any(p.name != LOCK_FILE for p in out.iterdir()):
        raise FactorspaceError(
            f"{out}: already exists and is not empty; use --resume to continue it, "
            "or choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def prepare_run_dir(out: Path | None, name: str, resume: bool, suffix: str = "") -> Path:
    """The run directory to use (``runs/NAME-TIME<suffix>`` when ``out`` is None): never mixes a
    new run into an existing one; to resume, ``out`` must hold ``run.json`` (a run) or, with a
    ``suffix`` (a multi-seed parent), be a directory."""
    if out is None:
        if resume:
            raise FactorspaceError("--resume needs --out RUN_DIR: the run directory to continue")
        return new_run_dir(Path("runs"), name, suffix)
    if resume:
        if suffix and not out.is_dir():
            raise FactorspaceError(f"{out}: no such directory to --resume")
        if not suffix and not RunDir(out).record.exists():
            raise FactorspaceError(f"{out}: not a run directory (no run.json) — cannot --resume")
        return out
    return claim_empty_dir(out)


@dataclass(frozen=True)
class Claim:
    """A run directory taken by :func:`claim_run_dir`: its lock held, whether to resume (False
    when ``--resume`` found no checkpoint to resume from) and what to tell the user (or None)."""

    root: Path
    lock: RunLock
    resume: bool
    note: str | None = None


# run.json's status of a run that ended before its first checkpoint -> how it ended
ENDED = {
    "failed": "failed",
    "interrupted": "was interrupted",
    "running": "was killed (run.json said running, but no process held its lock)",
}


def claim_run_dir(
    out: Path | None, name: str, resume: bool, checks: Iterable[Callable[[Path], None]] = ()
) -> Claim:
    """The run directory to use, as :func:`prepare_run_dir` says, locked for this process.

    Resuming, each of ``checks(run_dir)`` runs once the lock is held. A directory whose run
    ended (failed, interrupted, killed) before its first checkpoint is emptied and the run
    starts from the beginning, fresh or with ``--resume``; the note says so.

    Raises:
        FactorspaceError: as :func:`prepare_run_dir`, a check's, or another process holds
            the directory.
    """
    if out is not None and not resume:
        if out.exists() and not out.is_dir():
            raise FactorspaceError(f"{out}: not a directory; choose another --out")
        if not RunDir(out).record.is_file():
            claim_empty_dir(out)  # not a run's: refused if it holds anything, before any lock
        out.mkdir(parents=True, exist_ok=True)
        root = out
    else:
        root = prepare_run_dir(out, name, resume)  # a new one, or a run directory to resume
    lock = RunLock.acquire(root)
    try:
        if resume:
            RunDir(root).read_record()  # a damaged run.json: said now, not after the whole build
            for check in checks:
                check(root)
        return claim_locked(root, resume, lock)
    except BaseException:
        lock.release()
        raise


def claim_locked(root: Path, resume: bool, lock: RunLock) -> Claim:
    """:func:`claim_run_dir` once ``root`` is locked."""
    ended = ended_before_checkpoint(RunDir(root))
    if resume:
        if ended is None:
            return Claim(root, lock, True)
        empty_except_lock(root)
        note = (
            f"{root}: no checkpoint to resume from (the run {ended} before its first one); "
            "starting it again from the beginning"
        )
        return Claim(root, lock, False, note)
    if ended is None:
        claim_empty_dir(root)  # refuses anything but the lock file
        return Claim(root, lock, False)
    empty_except_lock(root)
    note = f"{root}: reusing the directory of a run that {ended} before its first checkpoint"
    return Claim(root, lock, False, note)


def ended_before_checkpoint(paths: RunDir) -> str | None:
    """How the run in ``paths`` ended when it left no checkpoint (``ENDED``), else None. Its
    lock must be held: a ``running`` status is then a killed run's."""
    if paths.checkpoint.exists() or not paths.record.is_file():
        return None
    try:
        status = paths.status()
    except (OSError, ValueError, AttributeError):  # an unreadable run.json: not ours to remove
        return None
    return ENDED.get(status) if isinstance(status, str) else None


def empty_except_lock(root: Path) -> None:
    """Remove everything in ``root`` but its (held) lock file."""
    for child in root.iterdir():
        if child.name == LOCK_FILE:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


@contextlib.contextmanager
def discard_on_failure(run_dir: Path, existed: bool, owner: bool = True):
    """Remove what a run that failed to start left in ``run_dir`` (the directory too unless it
    ``existed`` before, empty, as :func:`prepare_run_dir` requires). Only the ``owner`` (the main
    process of a distributed run) removes anything."""
    try:
        yield
    except BaseException:
        if not owner:
            raise
        if not existed:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            for child in run_dir.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise


class MetricsLog:
    """Per-epoch metrics as JSON lines and CSV; rewritten whole so a resume can truncate it."""

    def __init__(self, run_dir: Path | RunDir) -> None:
        paths = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        self.jsonl, self.csv = paths.metrics_jsonl, paths.metrics_csv

    def rows(self) -> list[dict]:
        if not self.jsonl.exists():
            return []
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line.strip()]

    def write(self, rows: list[dict]) -> None:
        atomic_write_text(self.jsonl, "".join(json.dumps(r) + "\n" for r in rows))
        atomic_write_text(self.csv, csv_text(rows))


def csv_text(rows: list[dict]) -> str:
    """``rows`` as CSV, the columns in order of first appearance; empty for no rows."""
    if not rows:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
