"""Ctrl-C, SIGTERM and SIGHUP as a request to stop at the next step boundary, where the state is whole.

A run checks :meth:`StopOnSignal.check` between steps; the first signal makes the next check raise
:class:`StopRequested`, so the checkpoint written then holds whole steps only. A second signal
raises ``KeyboardInterrupt`` at once, keeping the last checkpoint already on disk. SIGHUP (the
terminal of a batch job or an ssh session closing) is handled like SIGTERM.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
from pathlib import Path

from factorspace.errors import FactorspaceError, Interrupted

# the signals that ask a run to stop (SIGHUP: a closed terminal; not on Windows)
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class StopRequested(Exception):
    """Raised at a step boundary after Ctrl-C, SIGTERM or SIGHUP: the state is whole, save it."""


class StopOnSignal:
    """A context manager installing the SIGINT, SIGTERM and SIGHUP handlers (restored on exit).

    Outside the main thread signals cannot be handled; it then does nothing. DataLoader workers
    forked while it is installed inherit the handler: they ignore the first signal.
    """

    def __init__(self) -> None:
        self.requested = False
        self.previous: dict[int, object] = {}

    def __enter__(self) -> StopOnSignal:
        self.requested = False
        for sig in STOP_SIGNALS:
            if sig == getattr(signal, "SIGHUP", None) and ignored(sig):
                continue  # `nohup`: the user asked the run to outlive its terminal
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                break
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous.clear()

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Raise :class:`StopRequested` if a signal came since the run started."""
        if self.requested:
            raise StopRequested


def ignored(sig: int) -> bool:
    try:
        return signal.getsignal(sig) is signal.SIG_IGN
    except ValueError:
        return False


@contextlib.contextmanager
def ends_recorded(run, command: str, checkpoint: Path):
    """How a search or a training ends early, the same for both.

    A stop request (at a step boundary) saves a checkpoint; a second signal keeps the last one.
    Either way the run is marked ``interrupted`` and :class:`Interrupted` says how to resume. Any
    other exception (a non-finite value, a bug) marks it ``failed`` with
    :func:`failure_reason`. ``run`` has ``save()``,
    ``set_status(status, **extra)``, ``epoch``, ``step`` and ``run_dir``.
    """
    try:
        yield
    except (StopRequested, KeyboardInterrupt) as e:
        if isinstance(e, StopRequested):  # at a step boundary: the state is whole
            run.save()
            where = "checkpoint written"
        else:  # a second signal, possibly mid-step: keep the last whole checkpoint
            where = f"the last checkpoint is {checkpoint}"
        run.set_status("interrupted")
        raise Interrupted(
            f"interrupted at epoch {run.epoch + 1}, step {run.step}; {where}. "
            f"Continue with: {resume_command(command, run.run_dir)}"
        ) from None
    except Exception as e:
        run.set_status("failed", error=failure_reason(e))
        raise


def resume_command(command: str, run_dir: Path | str) -> str:
    """The whole command that continues a run: ``factorspace search --resume RUN_DIR`` (the
    recipe and ``--set`` values are read from the run directory). ``command`` is the run's
    command (its first word: ``search``, ``train``)."""
    return f"factorspace {command.split()[0]} --resume {shlex.quote(str(run_dir))}"


def failure_reason(error: BaseException) -> str:
    """``run.json``'s ``error``: a :class:`FactorspaceError`'s message, or any other exception's
    type and message."""
    if isinstance(error, FactorspaceError):
        return str(error)
    return f"{error.__class__.__name__}: {error}"
