"""Atomic writes: a temporary file beside the target, fsynced, then renamed over it.

An interruption at any moment leaves either the previous version of the file or the new one,
never half of one. Every file of a run directory, and every checkpoint, is written this way.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from factorspace.errors import FactorspaceError, clip


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Create ``path`` (and its parents) with what ``write(file)`` writes, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the run from the rest of a team
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        if e.filename is None:  # a write's error (a full disk) names no file: name the target
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def dump_yaml(path: Path, obj: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(obj, sort_keys=False))


def checked_target(path: Path, option: str = "-o") -> Path:
    """The file ``path`` names, refused up front unless a regular file can be written there:
    not a directory, a device (``/dev/full``), a link loop or a link to nowhere. A link to a
    file is followed (the file it names is written).

    Raises:
        FactorspaceError: ``-o PATH: a directory; give a file path`` and the like.
    """
    path = Path(path)
    if path.is_symlink():
        try:
            path = path.resolve(strict=True)
        except (OSError, RuntimeError):  # a loop (ELOOP, or RuntimeError before 3.13)
            raise FactorspaceError(f"{option} {path}: a link loop or a link to nothing") from None
    if path.is_dir():
        raise FactorspaceError(f"{option} {path}: a directory; give a file path")
    if path.exists() and not path.is_file():
        raise FactorspaceError(
            f"{option} {path}: not a regular file (a device or a pipe); give a file path"
        )
    return path


@contextlib.contextmanager
def written_atomically(path: Path, option: str = "-o") -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) to write, moved over ``path`` when the
    block ends well; removed otherwise. The target is checked first (:func:`checked_target`),
    and a failed write (a full disk, torch's writer failing) is one message naming it.

    Raises:
        FactorspaceError: a target that cannot be written, or a write that failed.
    """
    target = checked_target(path, option)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except (OSError, RuntimeError) as e:
        Path(tmp).unlink(missing_ok=True)
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0]
        raise FactorspaceError(f"{option} {target}: cannot write it ({clip(why, 160)})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
