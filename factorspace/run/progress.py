"""What a run shows while it trains (search and re-training alike).

On a terminal, a live bar per epoch. Where stdout is not a terminal (a batch job's log file, a
SLURM log), a plain line every ``log_every`` seconds, and after the first step, with the step,
loss, accuracy, images/s and ETA. Every line a run prints also goes to its ``run.log``
(:attr:`factorspace.run.rundir.RunDir.run_log`), plain and never wrapped.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

LOG_EVERY = 30.0  # seconds between plain progress lines (--log-every)
LOG_WIDTH = 10_000  # a log line is never wrapped


class RunConsole:
    """A run's console: the user's (``screen``, None: silent) and the run's log file (None: none).

    :meth:`print` writes a line to both, never hard-wrapped (a file console would wrap at 80
    columns); :meth:`progress` writes a progress line to the log, and to the screen only where
    the screen is not a terminal (a terminal shows the live bar instead), every ``log_every``
    seconds (:class:`EpochProgress`; None: ``screen``'s if it is a RunConsole, else 30 s).
    """

    def __init__(
        self,
        screen: Console | RunConsole | None,
        log: Path | None = None,
        log_every: float | None = None,
    ) -> None:
        if isinstance(screen, RunConsole):
            screen, log_every = screen.screen, screen.log_every if log_every is None else log_every
        self.screen, self.log = screen, log
        self.log_every = LOG_EVERY if log_every is None else log_every

    @property
    def live(self) -> Console | None:
        """The console for a live bar: the screen, if it is a terminal (or a notebook)."""
        live = self.screen is not None and (self.screen.is_terminal or self.screen.is_jupyter)
        return self.screen if live else None

    def print(self, *objects, **kwargs) -> None:
        kwargs["soft_wrap"] = True
        if self.screen is not None:
            self.screen.print(*objects, **kwargs)
        self.write_log(*objects, **kwargs)

    def rule(self, title: str = "") -> None:
        """A titled rule on the screen (``search --seeds`` between seeds); plain in the log."""
        if self.screen is not None:
            self.screen.rule(title)
        self.write_log(f"--- {title} ---")

    def progress(self, line: str) -> None:
        if self.screen is not None and self.live is None:
            self.screen.print(line, soft_wrap=True, highlight=False, markup=False)
        self.write_log(line)

    def write_log(self, *objects, **kwargs) -> None:
        """Append ``objects`` as plain text to the log file (opened per line: nothing to close)."""
        if self.log is None:
            return
        buf = io.StringIO()
        plain = Console(file=buf, width=LOG_WIDTH, color_system=None, markup=False, emoji=False)
        kwargs.update(soft_wrap=True, highlight=False, markup=False)
        plain.print(*objects, **kwargs)
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(buf.getvalue())


def run_console(console: Console | RunConsole | None, log: Path | None) -> RunConsole | None:
    """``console`` (its ``log_every`` kept) writing ``log`` too; None when there is neither."""
    screen = console.screen if isinstance(console, RunConsole) else console
    if screen is None and log is None:
        return None
    return RunConsole(console, log)


class EpochProgress:
    """One epoch's progress: epoch, step, running loss and accuracy, images/s and ETA, as a live
    bar on a terminal and as plain lines every ``console.log_every`` seconds (and after the first
    step) elsewhere and in the run's log."""

    def __init__(
        self,
        console: Console | RunConsole | None,
        epoch: int,
        epochs: int,
        steps: int,
        max_steps: tuple[int, int] | None = None,
    ) -> None:
        """``max_steps``: ``(limit, stop)`` where a step limit (``train.max_steps``) ends the run
        before the schedule does: the label names the limit and, where the run stops in this
        epoch (``stop`` < ``steps``), the bar and the ETA run to ``stop``."""
        plain = console is not None and not isinstance(console, RunConsole)
        self.console = RunConsole(console) if plain else console
        self.epoch, self.epochs, self.steps = epoch, epochs, steps
        self.stop = min(max_steps[1], steps) if max_steps else steps
        self.label = f"epoch {epoch + 1}/{epochs}" + (
            f" (max_steps {max_steps[0]})" if max_steps else ""
        )
        self.start = time.perf_counter()
        self.images = 0
        self.first_step: int | None = None  # the step this process started at (a resume skips)
        self.last_line: float | None = None
        self.bar = None
        live = self.console.live if self.console is not None else None
        if live is not None:
            self.bar = Progress(
                TextColumn(self.label),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(),
                console=live,
                transient=True,
            )
            self.task = self.bar.add_task("search", total=self.stop, stats="")
            self.bar.start()

    def update(self, step: int, images: int, loss: float, acc: float) -> None:
        self.images += images
        if self.first_step is None:
            self.first_step = step - 1
        if self.bar is not None:
            self.bar.update(
                self.task,
                completed=step,
                stats=f"loss {loss:.3f} acc {100 * acc:.1f}% {self.images_per_second:.0f} img/s",
            )
        now = time.perf_counter()
        if self.console is not None and (
            self.last_line is None or now - self.last_line >= self.console.log_every
        ):
            self.last_line = now
            self.console.progress(self.line(step, loss, acc, now))

    def line(self, step: int, loss: float, acc: float, now: float) -> str:
        """``epoch 1/50  step 40/391  loss 2.113  acc 21.3%  512 img/s  ETA 0:03:10``; where a
        step limit stops the run in this epoch, ``epoch 1/600 (max_steps 20)  step 5/20 (of
        391)  ...`` with the ETA to the limit."""
        done = step - (self.first_step or 0)
        eta = (self.stop - step) * (now - self.start) / max(done, 1)
        of = f" (of {self.steps})" if self.stop < self.steps else ""
        return (
            f"{self.label}  step {step}/{self.stop}{of}  loss {loss:.3f}  "
            f"acc {100 * acc:.1f}%  {self.images_per_second:.0f} img/s  ETA {clock(eta)}"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    @property
    def images_per_second(self) -> float:
        return self.images / max(time.perf_counter() - self.start, 1e-9)


def clock(seconds: float) -> str:
    """``3:05:09`` (hours:minutes:seconds)."""
    s = max(int(round(seconds)), 0)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
