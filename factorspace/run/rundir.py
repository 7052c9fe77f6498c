"""Run directories: where a search or a training leaves everything, written so nothing is lost.

Every file is written to a temporary name, fsynced and renamed, so an interruption at any moment
leaves either the previous version or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from factorspace.errors import FactorspaceError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the run from the rest of a team
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save to a temp file, fsync, rename: a kill at any moment keeps the last whole one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def update_run_record(run_dir: Path, **fields: Any) -> None:
    """Merge ``fields`` (status, epochs done, results) into the run's ``run.json``."""
    path = run_dir / "run.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    record.update(fields)
    write_json(path, record)


def load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise FactorspaceError(f"{path}: no checkpoint to resume from") from None
    except Exception as e:  # truncated or corrupt file
        raise FactorspaceError(
            f"{path}: not a readable checkpoint ({e.__class__.__name__}); "
            "it may be truncated or corrupt"
        ) from None


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
    """``out``, created, refusing one that holds anything: a new run never mixes into another."""
    if out.exists() and any(out.iterdir()):
        raise FactorspaceError(
            f"{out}: already exists and is not empty; use --resume to continue it, "
            "or choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def prepare_run_dir(out: Path | None, name: str, resume: bool) -> Path:
    """The run directory to use: never mixes a new run into an existing one."""
    if out is None:
        if resume:
            raise FactorspaceError("--resume needs --out RUN_DIR: the run directory to continue")
        return new_run_dir(Path("runs"), name)
    if resume:
        if not (out / "run.json").exists():
            raise FactorspaceError(f"{out}: not a run directory (no run.json) — cannot --resume")
        return out
    return claim_empty_dir(out)


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


def git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def environment(device: torch.device) -> dict[str, Any]:
    from factorspace import __version__

    env = {
        "factorspace": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
        "device": str(device),
        "cuda": torch.version.cuda,  # the CUDA torch was built with; None for a CPU build
        "git_commit": git_commit(),
        "command": " ".join(sys.argv),
        "argv": list(sys.argv),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def dump_yaml(path: Path, obj: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(obj, sort_keys=False))


class MetricsLog:
    """Per-epoch metrics as JSON lines and CSV; rewritten whole so a resume can truncate it."""

    def __init__(self, run_dir: Path) -> None:
        self.jsonl, self.csv = run_dir / "metrics.jsonl", run_dir / "metrics.csv"

    def rows(self) -> list[dict]:
        if not self.jsonl.exists():
            return []
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line.strip()]

    def write(self, rows: list[dict]) -> None:
        atomic_write_text(self.jsonl, "".join(json.dumps(r) + "\n" for r in rows))
        fields: list[str] = []
        for r in rows:
            fields += [k for k in r if k not in fields]
        lines = []
        if rows:
            import io

            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
            lines.append(buf.getvalue())
        atomic_write_text(self.csv, "".join(lines))
