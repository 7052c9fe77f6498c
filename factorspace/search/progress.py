"""What a search shows while it runs: a live bar per epoch and a summary line after it."""

from __future__ import annotations

import math
import time

import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from factorspace.genotype import Genotype


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


def print_epoch(
    console: Console, row: dict, epochs: int, strongest: str, genotype: Genotype
) -> None:
    """The lines after a search epoch: its metrics, the strongest choices, the normal cell."""
    console.print(
        f"epoch {row['epoch']}/{epochs}  train loss {row['train_loss']:.3f} "
        f"acc {100 * row['train_acc']:.1f}%  val loss {row['val_loss']:.3f} "
        f"acc {100 * row['val_acc']:.1f}%  {row['images_per_s']:.0f} img/s"
    )
    console.print(f"  strongest  {strongest}")
    console.print(f"  normal     {genotype_line(genotype)}", highlight=False)


def strongest_choices(weights: dict[str, dict[str, torch.Tensor]], choices, k: int = 2) -> str:
    """'op: sep_conv_3x3 .21, skip_connect .15 | activation: selu .13, ...' (normal cell mean)."""
    parts = []
    for factor, w in weights["normal"].items():
        mean = w.mean(0)
        top = mean.topk(min(k, mean.numel()))
        names = choices[factor]
        parts.append(
            f"{factor}: "
            + ", ".join(f"{names[i]} {v:.2f}" for v, i in zip(top.values, top.indices, strict=True))
        )
    return " | ".join(parts)


def mean_entropy(w: torch.Tensor) -> float:
    """Mean over edges of the softmax entropy, normalised by log(choices) (1 = uniform)."""
    ent = -(w * w.clamp_min(1e-12).log()).sum(-1).mean()
    return float(ent / math.log(w.shape[-1]))


def genotype_line(genotype: Genotype, cell: str = "normal") -> str:
    edges = getattr(genotype, cell).edges
    return ", ".join(
        f"{e.source}->{e.target} {e.op}"
        + "".join(f"·{v}" for v in e.arguments.values())
        + "".join(f"·{a}" for a in e.inputs.values())
        for e in edges
    )
