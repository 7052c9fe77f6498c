"""One process per run directory: an exclusive ``flock`` on ``run.lock`` inside it.

The lock is held for the run's life and dropped by the operating system when the process ends,
however it ends (a SIGKILL too), so a run directory whose ``run.json`` still says ``running``
while nobody holds its lock belongs to a run that was killed. ``flock`` locks belong to an open
file description: a second open in the same process is refused like another process.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from factorspace.errors import FactorspaceError

LOCK_FILE = "run.lock"


class RunLock:
    """The held lock of the run directory ``root``; :meth:`release` (or the process's end)
    drops it."""

    def __init__(self, root: Path, fd: int) -> None:
        self.root, self.fd = root, fd

    @classmethod
    def acquire(cls, root: Path, what: str = "run") -> RunLock:
        """Take ``root``'s lock at once, writing this process's id into the lock file.

        Raises:
            FactorspaceError: another process (or another open in this one) holds it; the
                message calls that process another ``what``.
        """
        path = Path(root) / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = holder_pid(path)
            who = f"process {pid}" if pid is not None else "another process"
            raise FactorspaceError(
                f"{root}: in use by another {what} ({who} holds {path.name}); wait for it to "
                "end or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(Path(root), fd)

    def release(self) -> None:
        """Drop the lock (again: nothing)."""
        if self.fd >= 0:
            os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd = -1


def live_holder(root: Path) -> int | None:
    """The process id of the live process holding ``root``'s lock, or None where none does
    (a ``running`` run.json is then a killed run's). A probe, at once: a run starting in the
    same microseconds may be refused once, as if the directory were held."""
    path = Path(root) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return holder_pid(path) or -1  # held, by a process that has not written its id yet
    finally:
        os.close(fd)  # drops the probe's shared lock, if it got one
    return None


def holder_pid(path: Path) -> int | None:
    """The process id written in the lock file ``path`` (None: unreadable or empty)."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
