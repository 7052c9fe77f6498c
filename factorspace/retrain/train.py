"""``train(genotype, recipe)``: re-train a genotype's network from scratch, leaving a run directory.

The run directory (:class:`~factorspace.run.rundir.RunDir`) holds the resolved recipe, the
genotype, the run record (environment, status, final test accuracy), the metrics (one row per
epoch) and the checkpoint. The checkpoint is written atomically at the end of every epoch, every ``train.checkpoint_every_steps``
steps, and when Ctrl-C or SIGTERM stops the run; it carries the genotype and the recipe, so
:func:`load_trained` (``factorspace eval``, ``factorspace export``) rebuilds the network from it
alone. A resumed run ends with the weights of an uninterrupted one.

DARTS's training (``cnn/train.py``), kept: SGD on every weight; the learning rate set at the start
of each epoch (linear warm-up over ``warmup_epochs``, then cosine from ``lr`` to ``lr_min``); the
drop-path probability rising linearly, ``drop_path * epoch / epochs`` (0 in the first epoch); the
auxiliary loss added with its weight; gradients clipped by norm. Label smoothing applies to both
heads' training losses, never to the test loss. ``train_loss`` in the metrics is the main head's.

Ctrl-C or SIGTERM stops the run at the end of the current step (or test batch), so the checkpoint
is never half a step; a second one stops at once, keeping the last checkpoint written.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from rich.console import Console
from torch import nn
from torch.nn import functional as F

from factorspace.data import eval_loaders, rebatched, set_epoch
from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype, load_genotype, resolve_genotype, save_genotype
from factorspace.retrain.recipe import load_train_recipe
from factorspace.retrain.trained import (
    CHECKPOINT_FORMAT,
    Trained,
    build_model,
    check_classes,
    constant_prediction_note,
    evaluate,
    evaluate_checkpoint,
    load_trained,
)
from factorspace.run.base import POSITION, Run, open_run
from factorspace.run.device import resolve_device, to_device
from factorspace.run.distributed import SINGLE, DistributedContext
from factorspace.run.precision import autocast, backward_and_step, grad_scaler
from factorspace.run.progress import EpochProgress, RunConsole, run_console
from factorspace.run.resume import check_same_recipe
from factorspace.run.rundir import RunDir
from factorspace.run.runtime import keep_freed_memory
from factorspace.run.seeding import seed_everything
from factorspace.run.stopping import resume_command
from factorspace.schema.train import TrainConfig, TrainRecipe

__all__ = [  # with what retrain/__init__.py reads from here, now in retrain.trained and .recipe
    "Trained",
    "TrainResult",
    "Trainer",
    "evaluate",
    "evaluate_checkpoint",
    "learning_rate",
    "load_train_recipe",
    "load_trained",
    "train",
]


@dataclass
class TrainResult:
    """A finished re-training: its run directory, the trained network and the per-epoch metrics."""

    run_dir: Path
    model: nn.Module  # on the training device, in eval mode
    genotype: Genotype
    metrics: list[dict]

    @property
    def test_acc(self) -> float:
        return self.metrics[-1]["test_acc"]

    @property
    def test_top5(self) -> float:
        return self.metrics[-1]["test_top5"]


def train(
    genotype: Genotype | str | Path,
    recipe: TrainRecipe | str | Path,
    *,
    out: Path | str | None = None,
    device: str | torch.device = "auto",
    resume: bool = False,
    console: Console | None = None,
    distributed: DistributedContext = SINGLE,
    log_every: float | None = None,
) -> TrainResult:
    """Re-train ``genotype``'s network from scratch as ``recipe`` says; leave a run directory.

    Args:
        genotype: a Genotype, a genotype file, a search run directory or a zoo name.
        recipe: a TrainRecipe or the path of a train recipe (``recipes/train_cifar.yaml``).
        out: the run directory (default ``runs/RECIPE-GENOTYPE-TIME``); never overwritten.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        resume: continue the run in ``out`` from its checkpoint (same recipe and genotype).
        console: where the progress bar and the epoch lines go; None: silent. Where it is not
            a terminal, a progress line every ``log_every`` seconds instead of the bar; every
            line also goes to the run directory's ``run.log``.
        distributed: this process's place under torchrun (:func:`factorspace.run.distributed.launch`);
            the recipe's batch is then the global batch, and rank 0 alone writes.

    Returns:
        A :class:`TrainResult`.

    Raises:
        FactorspaceError: bad input (genotype, recipe, data, run directory);
            :class:`~factorspace.search.Interrupted` after Ctrl-C or SIGTERM, once the
            checkpoint is written.

    Example:
        >>> result = train("darts_v2", "recipes/train_cifar.yaml", out="runs/darts_v2")
        >>> result.test_acc  # doctest: +SKIP
    """
    genotype = resolve_genotype(genotype, registered=True)
    if not isinstance(recipe, TrainRecipe):
        recipe = load_train_recipe(recipe)
    device = resolve_device(device)
    keep_freed_memory(device)  # CPU: malloc keeps activation buffers, no page faults per step
    name = "-".join(_file_name(n) for n in (recipe.name or "train", genotype.name) if n)
    resolved = recipe.model_dump(mode="json")
    console = RunConsole(console, log_every=log_every)  # and run.log, once there is a run dir
    trainer = open_run(  # a bad start leaves no run directory behind
        Path(out) if out else None,
        name,
        resume,
        lambda run_dir: Trainer(genotype, recipe, run_dir, device, console, distributed),
        distributed=distributed,
        checks=[
            partial(check_same_recipe, resolved=resolved, model=type(recipe)),
            partial(_check_same_genotype, genotype=genotype),
        ],
    )
    with trainer:  # the run directory's lock held; an escaping error recorded as the failure
        if not trainer.resuming:
            if distributed.is_main:
                save_genotype(genotype, trainer.paths.genotype)
            trainer.record_start(resolved, genotype=genotype.name)
        return trainer.run(trainer.resuming)


def learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (from 0): linear warm-up, then cosine from lr to lr_min."""
    if epoch < cfg.warmup_epochs:
        return cfg.lr * (epoch + 1) / cfg.warmup_epochs
    t = (epoch - cfg.warmup_epochs) / (cfg.epochs - cfg.warmup_epochs)
    return cfg.lr_min + (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t)) / 2


class Trainer(Run):
    """The state of one re-training: network, data, optimizer, position and metrics."""

    kind, command = "train", "train GENOTYPE"
    checkpoint_keys = POSITION | {"format", "model", "optimizer"}

    def __init__(
        self,
        genotype: Genotype,
        recipe: TrainRecipe,
        run_dir: Path,
        device: torch.device,
        console: Console | None,
        distributed: DistributedContext = SINGLE,
    ) -> None:
        super().__init__(run_dir, device, console, distributed)
        self.console = run_console(self.console, self.paths.run_log if self.dist.is_main else None)
        self.genotype, self.recipe, cfg = genotype, recipe, recipe.train
        seed_everything(cfg.seed)  # the initial weights, then drop path's draws
        self.model = build_model(genotype, recipe.network, recipe.data.image_size).to(device)
        if cfg.sync_batchnorm:
            self.model = distributed.sync_batchnorm(self.model)
        self.train_model = distributed.wrap(self.model)  # DDP under torchrun; checkpoints: model
        data = eval_loaders(
            recipe.data,
            cfg.batch_size,
            seed=cfg.seed,
            device=device,
            cutout=cfg.cutout,
            batch_field="train.batch_size",
        )
        self.data = distributed.shard(data, batch_field="train.batch_size")
        self.steps_per_epoch = len(self.data.train)  # before any resumed epoch skips batches
        check_classes(self.data.num_classes, recipe.network)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )
        self.scaler = grad_scaler(device, cfg.precision)
        self.totals = _new_totals()

    # ---- checkpoints -------------------------------------------------------------------------
    def state(self) -> dict:
        state = {
            "format": CHECKPOINT_FORMAT,
            **self.position(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "genotype": self.genotype.model_dump(mode="json"),
            "recipe": self.recipe.model_dump(mode="json"),
            "classes": self.data.classes,
        }
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        return state

    def load_state(self, state: dict, path: Path) -> None:
        if state["format"] != CHECKPOINT_FORMAT:
            raise FactorspaceError(f"{path}: not a checkpoint of `factorspace train`")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None:
            self.scaler.load_state_dict(state["scaler"])

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, resume: bool) -> TrainResult:
        if resume:
            self.restore()
        self.announce()
        with self.recorded_end():
            while self.epoch < self.recipe.train.epochs:
                if self.step_limit_reached() and self.step == 0:
                    break  # train.max_steps reached, and that epoch ended: done
                self.stop.check()
                self.train_epoch()  # resumed in the test pass after the last step: no steps
                self.end_epoch()
        if not self.rows:  # a checkpoint that claims the end, with no epoch recorded
            raise FactorspaceError(
                f"{self.paths.checkpoint}: says the training ended, but holds no epoch's results; "
                "move it away to train again from the beginning"
            )
        if self.step_limit() is not None and self.console is not None:
            done, epochs = self.rows[-1]["epoch"], self.recipe.train.epochs
            self.console.print(
                f"stopped at max_steps {self.recipe.train.max_steps} (in epoch {done} of "
                f"{epochs}; the learning rate and drop path follow the {epochs}-epoch schedule)",
                highlight=False,
            )
        last = self.rows[-1]
        self.set_status(
            "complete",
            test_acc=last["test_acc"],
            test_top5=last["test_top5"],
            seconds=sum(r["seconds"] for r in self.rows),
        )
        return TrainResult(self.run_dir, self.model.eval(), self.genotype, self.rows)

    def train_epoch(self) -> None:
        cfg = self.recipe.train
        lr = learning_rate(cfg, self.epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.drop_path_prob = self.recipe.network.drop_path * self.epoch / cfg.epochs
        if self.step_limit_reached():  # stopped in the test pass after train.max_steps' step
            return
        set_epoch(self.data.train, self.epoch, batches_done=self.step)
        self.dist.seed_epoch(cfg.seed, self.epoch)  # under torchrun: each process's drop path
        steps = self.step + len(self.data.train)
        bar = EpochProgress(self.console, self.epoch, cfg.epochs, steps, self.step_limit())
        self.model.train()
        t = self.totals
        last = time.perf_counter()
        try:
            for batch in self.data.train:
                x, y = to_device(batch, self.device)
                loss, correct = self.train_step(x, y)
                if not torch.isfinite(loss):
                    raise FactorspaceError(
                        f"non-finite loss ({float(loss)}) at epoch {self.epoch + 1}, step "
                        f"{self.step + 1}; {self.checkpoint_note()}"
                    )
                n = y.numel()
                t["loss"] += float(loss) * n
                t["correct"] += correct
                t["n"] += n
                now = time.perf_counter()
                t["train_seconds"] += now - last
                last = now
                self.step += 1
                bar.update(self.step, n, t["loss"] / t["n"], t["correct"] / t["n"])
                if self.step_limit_reached():
                    break  # train.max_steps: end_epoch evaluates and checkpoints, as at the end
                every = cfg.checkpoint_every_steps
                if every and self.step % every == 0 and self.step < steps:
                    self.save()
                self.stop.check()
        finally:
            bar.close()

    def step_limit(self) -> tuple[int, int] | None:
        """``(train.max_steps, the step of this epoch it stops at)`` where the limit ends the
        run before the schedule's last epoch; None otherwise (the progress line's limit)."""
        limit = self.recipe.train.max_steps
        if limit is None or limit >= self.recipe.train.epochs * self.steps_per_epoch:
            return None
        return limit, limit - self.epoch * self.steps_per_epoch

    def step_limit_reached(self) -> bool:
        """``train.max_steps`` optimizer steps done, over all epochs (None: never)."""
        limit = self.recipe.train.max_steps
        return limit is not None and self.epoch * self.steps_per_epoch + self.step >= limit

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
        """One SGD step; returns the main head's loss and its correct predictions."""
        cfg, smoothing = self.recipe.train, self.recipe.train.label_smoothing
        with autocast(self.device, cfg.precision):
            out = self.train_model(x)
        logits, logits_aux = out if isinstance(out, tuple) else (out, None)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=smoothing)
        total = loss
        if logits_aux is not None:
            aux = F.cross_entropy(logits_aux.float(), y, label_smoothing=smoothing)
            total = loss + self.recipe.network.auxiliary_weight * aux
        self.optimizer.zero_grad(set_to_none=True)
        backward_and_step(
            total, self.optimizer, self.model.parameters(), cfg.grad_clip, self.scaler
        )
        return loss.detach(), int((logits.argmax(1) == y).sum())

    def end_epoch(self) -> None:
        cfg = self.recipe.train
        started = time.perf_counter()
        steps_done = self.epoch * self.steps_per_epoch + self.step
        self.dist.average_buffers(self.model)  # the BatchNorm statistics: the same everywhere
        test = rebatched(self.data.test, self.dist.share(cfg.eval_batch))  # any size: same figures
        test = evaluate(
            self.model, test, self.device, precision=cfg.precision, check=self.stop.check
        )
        test = self.dist.weighted_mean(test, weight="images")
        t, e = self.dist.reduce_totals(self.totals, mean=["train_seconds"]), self.epoch + 1
        row = {
            "epoch": e,
            "train_loss": t["loss"] / max(t["n"], 1),
            "train_acc": t["correct"] / max(t["n"], 1),
            "test_loss": test["loss"],
            "test_acc": test["top1"],
            "test_top5": test["top5"],
            "lr": self.optimizer.param_groups[0]["lr"],
            "drop_path": self.model.drop_path_prob,
            "seconds": t["train_seconds"] + time.perf_counter() - started,
            "images_per_s": t["n"] / max(t["train_seconds"], 1e-9),
        }
        self.rows.append(row)
        if self.dist.is_main:
            self.metrics.write(self.rows)
        self.epoch, self.step, self.totals = e, 0, _new_totals()
        self.save()
        if self.console is not None:
            self.console.print(
                f"epoch {e}/{cfg.epochs}  train loss {row['train_loss']:.3f} "
                f"acc {100 * row['train_acc']:.1f}%  test loss {row['test_loss']:.3f} "
                f"top-1 {100 * row['test_acc']:.2f}% top-5 {100 * row['test_top5']:.2f}%  "
                f"lr {row['lr']:.4g}  {row['seconds']:.0f} s  {row['images_per_s']:.0f} img/s",
                highlight=False,
                soft_wrap=True,
            )
            note = constant_prediction_note(test, steps_done)
            if note:
                self.console.print(note, highlight=False, soft_wrap=True)

    def announce(self) -> None:
        if self.console is None:
            return
        weights = sum(p.numel() for p in self.model.parameters())
        head = self.model.auxiliary_head
        aux = sum(p.numel() for p in head.parameters()) if head is not None else 0
        start = f", resuming at epoch {self.epoch + 1}" if self.epoch or self.step else ""
        data = self.data.describe(self.recipe.train.eval_batch_size)
        self.console.print(
            f"{self.genotype.name or 'genotype'}: {weights - aux:,} parameters "
            f"(+{aux:,} auxiliary) on {self.device}{start}\n{data}\n"
            f"run directory: {self.run_dir}\n"
            f"resume with: {resume_command(self.command, self.run_dir)}",
            highlight=False,
            soft_wrap=True,
        )


def _new_totals() -> dict:
    return {"loss": 0.0, "correct": 0, "n": 0, "train_seconds": 0.0}


def _check_same_genotype(run_dir: Path, genotype: Genotype) -> None:
    recorded = load_genotype(RunDir(run_dir).genotype)
    if (recorded.normal, recorded.reduce) != (genotype.normal, genotype.reduce):
        raise FactorspaceError(
            f"{run_dir}: was trained from another genotype ({recorded.name or 'unnamed'}); "
            "--resume needs the same genotype"
        )


def _file_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_")
