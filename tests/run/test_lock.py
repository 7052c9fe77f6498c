"""One process per run directory: a second one is refused at once, naming the holder; the lock
goes with its holder, however it ends (a SIGKILL too)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from factorspace.errors import FactorspaceError
from factorspace.run.lock import RunLock, live_holder

# another run's process, as RunLock takes the lock (without importing torch: milliseconds)
HOLD = """
import fcntl, os, sys, time
fd = os.open(os.path.join(sys.argv[1], "run.lock"), os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.write(fd, f"{os.getpid()}\\n".encode())
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_open_is_refused_naming_the_directory_and_the_holder(tmp_path):
    held = RunLock.acquire(tmp_path)
    started = time.monotonic()
    with pytest.raises(FactorspaceError) as e:
        RunLock.acquire(tmp_path)  # another open file description: refused like a process
    assert time.monotonic() - started < 1  # at once, not waiting for the holder
    assert str(e.value) == (
        f"{tmp_path}: in use by another run (process {os.getpid()} holds run.lock); wait for it "
        "to end or choose another --out"
    )
    assert live_holder(tmp_path) == os.getpid()
    held.release()
    assert live_holder(tmp_path) is None
    RunLock.acquire(tmp_path).release()  # released: free again
    held.release()  # a second release does nothing


def test_another_process_holds_it_until_killed(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        assert live_holder(tmp_path) == holder.pid
        with pytest.raises(
            FactorspaceError, match=rf"in use by another run \(process {holder.pid} "
        ):
            RunLock.acquire(tmp_path)
    finally:
        holder.kill()  # SIGKILL: the operating system drops the lock
        holder.wait()
    assert live_holder(tmp_path) is None  # a running run.json would be a killed run's
    RunLock.acquire(tmp_path).release()


def test_no_lock_file_no_holder(tmp_path):
    assert live_holder(tmp_path) is None
    assert not (tmp_path / "run.lock").exists()  # the probe creates nothing
