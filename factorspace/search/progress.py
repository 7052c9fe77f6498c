"""What a search prints: a header, and after each epoch the strongest choices, the genotype,
entropies.

The live bar during an epoch is :class:`factorspace.run.progress.EpochProgress`.
"""

from __future__ import annotations

import math

import torch
from rich.console import Console

from factorspace.genotype import Genotype
from factorspace.genotype.naming import cell_text
from factorspace.ops import fused_kernel
from factorspace.run.stopping import resume_command


def print_header(console: Console | None, recipe, data, run, resuming: bool) -> None:
    """The lines a search starts with: recipe, data and sizes, device, run directory, and the
    command that resumes it (a batch job's log then says all of it), and which path computes the
    mixed activation: its compiled kernels are compiled here, before the first step."""
    mixing = fused_kernel.prepare(recipe, torch.device(run.device))
    if console is None:
        return
    cfg, net = recipe.search, recipe.supernet
    start = f"; resuming at epoch {run.epoch + 1}, step {run.step}" if resuming else ""
    if resuming and run.epoch >= cfg.epochs:
        start = f"; all {cfg.epochs} epochs done already"
    lines = [
        f"search {recipe.name or 'recipe'}: {cfg.epochs} epoch{'s' * (cfg.epochs != 1)} of "
        f"{len(data.train)} steps, "
        f"supernet of {net.cells} cells, {net.channels} channels, seed {cfg.seed}, "
        f"on {run.device}{start}",
        f"data: {data.describe(cfg.eval_batch_size)}",
        mixing.line,
        f"run directory: {run.run_dir}",
        f"resume with: {resume_command('search', run.run_dir)}",
    ]
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def print_epoch(
    console: Console | None, row: dict, epochs: int, weights, choices, genotype: Genotype
) -> None:
    """The lines after a search epoch: its metrics, the strongest choices (of ``weights``,
    :func:`strongest_choices`), the normal cell."""
    if console is None:
        return
    strongest = strongest_choices(weights, choices)
    lines = [
        f"epoch {row['epoch']}/{epochs}  train loss {row['train_loss']:.3f} "
        f"acc {100 * row['train_acc']:.1f}%  val loss {row['val_loss']:.3f} "
        f"acc {100 * row['val_acc']:.1f}%  {row['images_per_s']:.0f} img/s",
        f"  strongest  {strongest}",
        f"  normal     {genotype_line(genotype)}",
    ]
    for line in lines:  # never wrapped: a batch job's log keeps one line each
        console.print(line, highlight=False, soft_wrap=True)


def print_end(console: Console | None, stop: str | None, family_line: str | None) -> None:
    """The lines a search ends with: why it stopped early (if it did), and its cell family's
    line about the final genotype (NAS-Bench-201: the derived cell's looked-up accuracy)."""
    if console is None:
        return
    lines = [f"stopped early: {stop}"] if stop is not None else []
    for line in [*lines, family_line] if family_line else lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)


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
    """``c_{k-2}->0 sep_conv_3x3·selu, c_{k-1}->0 ...``: the nodes named as the drawings and the
    report name them (:func:`factorspace.genotype.naming.cell_text`), not the genotype file's
    numbers (there, 0 and 1 are the inputs)."""
    return cell_text(genotype, cell)
