"""What a run shows while it trains: a live bar per epoch (search and re-training alike)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn


class EpochProgress:
    """A live bar: epoch, step, running loss and accuracy, images/s and ETA."""

    def __init__(self, console: Console | None, epoch: int, epochs: int, steps: int) -> None:
        self.console, self.epoch, self.epochs, self.steps = console, epoch, epochs, steps
        self.start = time.perf_counter()
        self.images = 0
        self.bar = None
        if console is not None:
            self.bar = Progress(
                TextColumn(f"epoch {epoch + 1}/{epochs}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self.task = self.bar.add_task("search", total=steps, stats="")
            self.bar.start()

    def update(self, step: int, images: int, loss: float, acc: float) -> None:
        self.images += images
        if self.bar is not None:
            rate = self.images / max(time.perf_counter() - self.start, 1e-9)
            self.bar.update(
                self.task,
                completed=step,
                stats=f"loss {loss:.3f} acc {100 * acc:.1f}% {rate:.0f} img/s",
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    @property
    def images_per_second(self) -> float:
        return self.images / max(time.perf_counter() - self.start, 1e-9)
