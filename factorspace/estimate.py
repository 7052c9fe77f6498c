"""What a whole search or re-training will cost, from a few of its own steps timed first.

``factorspace space RECIPE --estimate`` builds the run as the command would (supernet or
network, data loaders, optimizers) in a throw-away directory, times a few real iterations on
real batches (loading and augmentation included) after a warm-up, and a few evaluation batches,
then multiplies out:

    setup + first-step excess + sum over epochs (steps x step time)
        + epochs x (evaluation batches x evaluation time + the epoch's files)

Setup is building the run and writing its ``run.json``; the epoch's files (genotype,
architecture record, checkpoint) are timed once. A search's warm-up epochs
(``search.warmup_epochs``) take weight steps only and are timed apart. Not counted: starting
Python and importing torch (seconds, before any command runs), and a load on the machine that
changes during the run.
"""

from __future__ import annotations

import math
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from factorspace.data import rebatched
from factorspace.genotype import Genotype
from factorspace.run.device import next_batch, resolve_device, to_device
from factorspace.run.runtime import keep_freed_memory
from factorspace.schema import Recipe

Clock = Callable[[], float]


@dataclass
class Estimate:
    kind: str  # "search" or "train"
    device: str
    epochs: int
    steps_per_epoch: int
    eval_batches_per_epoch: int
    setup_s: float  # building the model, data and optimizers (measured once)
    first_step_extra_s: float  # the first step's time beyond a steady one (allocations, oneDNN)
    step_s: float  # median steady iteration, its batches' loading included
    warmup_step_s: float  # search.warmup_epochs: an iteration without the architecture steps
    warmup_epochs: int
    eval_batch_s: float  # median no-grad forward of an evaluation batch
    epoch_end_s: float  # an epoch's files: checkpoint, genotype, architecture record (once)
    checkpoint_s: float  # one checkpoint (also written every search/train.checkpoint_every_steps)
    total_steps: int
    total_s: float
    peak_memory_mib: float
    timed_steps: int

    def lines(self) -> list[str]:
        """What ``space --estimate`` prints."""
        what = "search" if self.kind == "search" else "re-training"
        lines = [
            f"estimate on {self.device} ({self.timed_steps} timed steps after a warm-up):",
            f"  step {self.step_s:.3f} s x {self.steps_per_epoch} steps/epoch x {self.epochs} "
            f"epochs ({self.total_steps:,} steps)",
        ]
        if self.warmup_epochs:
            lines.append(
                f"  warm-up epochs: {self.warmup_epochs}, weight step only {self.warmup_step_s:.3f} s"
            )
        lines += [
            f"  evaluation {self.eval_batch_s:.3f} s x {self.eval_batches_per_epoch} batches "
            "per epoch",
            f"  setup {self.setup_s:.1f} s; each epoch's files {self.epoch_end_s:.2f} s",
            f"  {what}: about {duration(self.total_s)}; peak memory {self.peak_memory_mib:,.0f} MiB",
        ]
        return lines


def duration(seconds: float) -> str:
    """``3 h 05 min``, ``4 min 09 s`` or ``12.3 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours / 24:.1f} days"


def _timed(fn: Callable[[], object], clock: Clock, device: torch.device) -> float:
    started = clock()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return clock() - started


def _steady(fn, n: int, clock: Clock, device: torch.device) -> float:
    return statistics.median(_timed(fn, clock, device) for _ in range(n))


def _peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux


class _Cycle:
    """Batches of ``loader`` on ``device``, starting over when it runs out."""

    def __init__(self, loader, device: torch.device, memory_format) -> None:
        self.loader, self.device, self.memory_format = loader, device, memory_format
        self.it = iter(loader)

    def __call__(self):
        batch, self.it = next_batch(self.it, self.loader, self.device, self.memory_format)
        return batch


def estimate_search(
    recipe: Recipe, *, device: str = "auto", steps: int = 5, clock: Clock = time.perf_counter
) -> Estimate:
    """Time ``steps`` iterations of ``recipe``'s search (after one untimed) and multiply out."""
    from factorspace.search.faults import FiniteGuard
    from factorspace.search.loop import Search

    device_ = resolve_device(device)
    keep_freed_memory(device_)
    cfg = recipe.search
    with tempfile.TemporaryDirectory() as tmp:
        started = clock()
        run = Search(recipe, Path(tmp) / "run", device_, None)
        setup = clock() - started
        run.run_dir.mkdir()
        started = clock()
        run.record_start(recipe.model_dump(mode="json"))  # run.json, the environment's git call
        setup += clock() - started
        guard = FiniteGuard(run.net, run.w_opt, run.a_opts, keep_buffers=False)
        train, val = (_Cycle(d, device_, run.memory_format) for d in (run.data.train, run.data.val))
        run.net.train()

        def iteration(arch: bool = True):
            batch = train()
            loss, _ = run.iteration(batch, val() if arch and run.a_opts else None, guard)
            return float(loss)

        first = _timed(iteration, clock, device_)
        step = _steady(iteration, steps, clock, device_)
        warmup_step = step
        if cfg.warmup_epochs:
            warmup_step = _steady(lambda: iteration(arch=False), steps, clock, device_)
        run.net.eval()
        evaluation = rebatched(run.data.val, run.dist.share(cfg.eval_batch))  # as Search.evaluate
        images, _ = to_device(next(iter(evaluation)), device_, run.memory_format)
        with torch.no_grad():
            eval_batch = _steady(lambda: run.net(images), steps, clock, device_)
        steps_per_epoch, eval_batches = len(run.data.train), len(evaluation)
        checkpoint = _timed(run.save, clock, device_)
        epoch_end = checkpoint + _timed(lambda: _epoch_files(run), clock, device_)
        guard.remove()
    warmup_epochs = min(cfg.warmup_epochs, cfg.epochs)
    loop = steps_per_epoch * (warmup_epochs * warmup_step + (cfg.epochs - warmup_epochs) * step)
    loop += (
        cfg.epochs * mid_epoch_checkpoints(steps_per_epoch, cfg.checkpoint_every_steps) * checkpoint
    )
    total = setup + (first - step) + loop + cfg.epochs * (eval_batches * eval_batch + epoch_end)
    return Estimate(
        kind="search",
        device=str(device_),
        epochs=cfg.epochs,
        steps_per_epoch=steps_per_epoch,
        eval_batches_per_epoch=eval_batches,
        setup_s=setup,
        first_step_extra_s=max(first - step, 0.0),
        step_s=step,
        warmup_step_s=warmup_step,
        warmup_epochs=warmup_epochs,
        eval_batch_s=eval_batch,
        epoch_end_s=epoch_end,
        checkpoint_s=checkpoint,
        total_steps=steps_per_epoch * cfg.epochs,
        total_s=total,
        peak_memory_mib=_peak_mib(device_),
        timed_steps=steps,
    )


def _epoch_files(run) -> None:
    """What a search writes at each epoch's end besides its metrics and checkpoint: the derived
    genotype and the architecture record (:meth:`Search.end_epoch`)."""
    from factorspace.derive import derive_genotype
    from factorspace.genotype import save_genotype
    from factorspace.run.atomic import write_json
    from factorspace.search.loop import detached_weights

    save_genotype(derive_genotype(run.net), run.paths.genotype)
    write_json(run.paths.arch(1), run.arch_record(1, detached_weights(run.net)))


def mid_epoch_checkpoints(steps_per_epoch: int, every: int | None) -> int:
    """Checkpoints an epoch writes before its end (``checkpoint_every_steps``)."""
    return (steps_per_epoch - 1) // every if every else 0


def estimate_training(
    genotype: Genotype,
    recipe,
    *,
    device: str = "auto",
    steps: int = 5,
    clock: Clock = time.perf_counter,
) -> Estimate:
    """Time ``steps`` re-training steps of ``genotype``'s network (after one untimed) and the
    test evaluation, and multiply out over ``train.epochs`` (or ``train.max_steps``)."""
    from factorspace.retrain.train import Trainer

    device_ = resolve_device(device)
    keep_freed_memory(device_)
    cfg = recipe.train
    with tempfile.TemporaryDirectory() as tmp:
        started = clock()
        run = Trainer(genotype, recipe, Path(tmp) / "run", device_, None)
        setup = clock() - started
        train = _Cycle(run.data.train, device_, torch.contiguous_format)
        evaluation = rebatched(run.data.test, run.dist.share(cfg.eval_batch))  # as Trainer
        test = _Cycle(evaluation, device_, torch.contiguous_format)
        run.model.train()
        run.model.drop_path_prob = 0.0  # the first epoch's

        def iteration():
            x, y = train()
            return float(run.train_step(x, y)[0])

        first = _timed(iteration, clock, device_)
        step = _steady(iteration, steps, clock, device_)
        run.model.eval()
        with torch.no_grad():
            eval_batch = _steady(lambda: run.model(test()[0]), steps, clock, device_)
        steps_per_epoch, eval_batches = run.steps_per_epoch, len(evaluation)
        run.run_dir.mkdir()
        epoch_end = _timed(run.save, clock, device_)
    every = mid_epoch_checkpoints(steps_per_epoch, cfg.checkpoint_every_steps)
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps is not None:
        total_steps = min(total_steps, cfg.max_steps)
    epochs = math.ceil(total_steps / steps_per_epoch)
    total = setup + (first - step) + total_steps * step
    total += epochs * (eval_batches * eval_batch + (1 + every) * epoch_end)
    return Estimate(
        kind="train",
        device=str(device_),
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        eval_batches_per_epoch=eval_batches,
        setup_s=setup,
        first_step_extra_s=max(first - step, 0.0),
        step_s=step,
        warmup_step_s=step,
        warmup_epochs=0,
        eval_batch_s=eval_batch,
        epoch_end_s=epoch_end,
        checkpoint_s=epoch_end,
        total_steps=total_steps,
        total_s=total,
        peak_memory_mib=_peak_mib(device_),
        timed_steps=steps,
    )
