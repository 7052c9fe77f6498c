"""Ctrl-C and SIGTERM as a request to stop at the next step boundary, where the state is whole.

A run checks :meth:`StopOnSignal.check` between steps; the first signal makes the next check raise
:class:`StopRequested`, so the checkpoint written then holds whole steps only. A second signal
raises ``KeyboardInterrupt`` at once, keeping the last checkpoint already on disk.
"""

from __future__ import annotations

import signal


class StopRequested(Exception):
    """Raised at a step boundary after Ctrl-C or SIGTERM: the state is whole, save it."""


class StopOnSignal:
    """A context manager installing the SIGINT and SIGTERM handlers (restored on exit).

    Outside the main thread signals cannot be handled; it then does nothing. DataLoader workers
    forked while it is installed inherit the handler: they ignore the first signal.
    """

    def __init__(self) -> None:
        self.requested = False
        self.previous: dict[int, object] = {}

    def __enter__(self) -> StopOnSignal:
        self.requested = False
        for sig in (signal.SIGINT, signal.SIGTERM):
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
