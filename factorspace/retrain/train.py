"""``train(genotype, recipe)``: re-train a genotype's network from scratch, leaving a run directory.

The run directory holds recipe.yaml (resolved), genotype.json, run.json (environment, status, final
test accuracy), metrics.jsonl and metrics.csv (one row per epoch) and checkpoints/last.pt. The
checkpoint is written atomically at the end of every epoch, every ``train.checkpoint_every_steps``
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

import contextlib
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console
from torch import nn
from torch.nn import functional as F

from factorspace.data import eval_loaders, set_epoch
from factorspace.errors import FactorspaceError, RecipeError
from factorspace.genotype import Genotype, load_genotype, save_genotype
from factorspace.loader import apply_override, import_modules, parse_yaml, read_text, validate
from factorspace.retrain.network import build_network
from factorspace.run.distributed import SINGLE, DistributedContext
from factorspace.run.rundir import (
    MetricsLog,
    dump_yaml,
    environment,
    load_checkpoint,
    prepare_run_dir,
    save_checkpoint,
    update_run_record,
    write_json,
)
from factorspace.run.runtime import keep_freed_memory
from factorspace.run.stopping import StopOnSignal as _Stop
from factorspace.run.stopping import ends_recorded
from factorspace.schema.train import NetworkConfig, TrainConfig, TrainRecipe
from factorspace.search.loop import (
    check_same_recipe,
    resolve_device,
    rng_state,
    seed_everything,
    set_rng_state,
    to_device,
)
from factorspace.search.progress import EpochProgress

CHECKPOINT = "checkpoints/last.pt"
CHECKPOINT_FORMAT = "factorspace.train"


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


@dataclass
class Trained:
    """A network rebuilt from a training checkpoint, with what made it."""

    model: nn.Module  # on the CPU, in eval mode
    genotype: Genotype
    recipe: TrainRecipe
    epoch: int  # epochs completed
    step: int  # steps into the next epoch (a mid-epoch checkpoint)
    path: Path


def train(
    genotype: Genotype | str | Path,
    recipe: TrainRecipe | str | Path,
    *,
    out: Path | str | None = None,
    device: str | torch.device = "auto",
    resume: bool = False,
    console: Console | None = None,
    distributed: DistributedContext = SINGLE,
) -> TrainResult:
    """Re-train ``genotype``'s network from scratch as ``recipe`` says; leave a run directory.

    Args:
        genotype: a Genotype, a genotype file, a search run directory or a zoo name.
        recipe: a TrainRecipe or the path of a train recipe (``recipes/train_cifar.yaml``).
        out: the run directory (default ``runs/RECIPE-GENOTYPE-TIME``); never overwritten.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        resume: continue the run in ``out`` from its checkpoint (same recipe and genotype).
        console: where the progress bar and the epoch lines go; None: silent.
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
    from factorspace.genotype.zoo import resolve_genotype

    if not isinstance(genotype, Genotype):
        genotype = resolve_genotype(genotype)
    if not isinstance(recipe, TrainRecipe):
        recipe = load_train_recipe(recipe)
    device = resolve_device(device)
    keep_freed_memory(device)  # CPU: malloc keeps activation buffers, no page faults per step
    name = "-".join(_file_name(n) for n in (recipe.name or "train", genotype.name) if n)
    out = Path(out) if out else None
    resolved = recipe.model_dump(mode="json")
    if resume:
        run_dir = distributed.run_on_main(prepare_run_dir, out, name, resume)
        distributed.run_on_main(check_same_recipe, run_dir, resolved)
        distributed.run_on_main(_check_same_genotype, run_dir, genotype)
        trainer = Trainer(genotype, recipe, device, console, distributed)
    else:
        existed = out is not None and out.exists()
        run_dir = distributed.run_on_main(prepare_run_dir, out, name, resume)
        try:
            trainer = Trainer(genotype, recipe, device, console, distributed)
        except BaseException:
            if not existed:  # a bad start leaves no run directory behind
                with contextlib.suppress(OSError):
                    run_dir.rmdir()
            raise
        if distributed.is_main:
            dump_yaml(run_dir / "recipe.yaml", resolved)
            save_genotype(genotype, run_dir / "genotype.json")
            record = {"status": "running", "genotype": genotype.name, "env": environment(device)}
            write_json(run_dir / "run.json", record)
    return trainer.run(run_dir, resume)


def load_train_recipe(path: str | Path | None, overrides: Iterable[str] = ()) -> TrainRecipe:
    """Load and validate a train recipe, applying ``dotted.key=value`` overrides.

    ``path=None`` starts from the schema's defaults (DARTS's CIFAR-10 re-training).

    Raises:
        RecipeError: with ``FILE:LINE: field: message`` for any problem.
    """
    if path is None:
        return _validate({}, Path("(default recipe)"), {}, overrides)
    path = Path(path)
    data, lines = parse_yaml(read_text(path), path)
    if not isinstance(data, dict):
        raise RecipeError(
            "a train recipe is a mapping with `network:`, `train:` and `data:`", path=path, line=1
        )
    return _validate(data, path, lines, overrides)


def _validate(data: dict, path: Path, lines: dict, overrides: Iterable[str]) -> TrainRecipe:
    overridden = {apply_override(data, item, path) for item in overrides}
    import_modules(data.get("imports") or [], path, lines)
    return validate(TrainRecipe, data, path, lines, overridden)


def learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (from 0): linear warm-up, then cosine from lr to lr_min."""
    if epoch < cfg.warmup_epochs:
        return cfg.lr * (epoch + 1) / cfg.warmup_epochs
    t = (epoch - cfg.warmup_epochs) / (cfg.epochs - cfg.warmup_epochs)
    return cfg.lr_min + (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t)) / 2


def build_model(genotype: Genotype, network: NetworkConfig, image_size: int) -> nn.Module:
    """The network on the CPU, freshly initialised; first checked on ``image_size`` inputs.

    Raises:
        FactorspaceError: an operator missing from the registry, or inputs too small for it.
    """
    try:
        with torch.device("meta"):  # costs no memory and draws no random numbers
            meta = build_network(genotype, network)
            meta.train()(torch.empty(2, 3, image_size, image_size))
    except KeyError as e:
        raise FactorspaceError(f"genotype {genotype.name or ''}: {e.args[0]}") from None
    except RuntimeError as e:
        raise FactorspaceError(
            f"data.image_size={image_size} is too small for this {network.dataset} network "
            f"({str(e).splitlines()[0]}); the auxiliary tower needs 32 on CIFAR-10 and 224 on "
            "ImageNet: raise data.image_size or set network.auxiliary=false"
        ) from None
    return build_network(genotype, network)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    device: torch.device,
    *,
    amp: bool = False,
    check: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Cross-entropy, top-1 and top-5 accuracy of ``model`` (in eval mode) over ``loader``.

    Returns:
        ``{"loss", "top1", "top5", "images"}``; the model's training mode is restored.
    """
    was_training = model.training
    model.eval()
    loss, top1, top5, n = 0.0, 0, 0, 0
    try:
        for batch in loader:
            x, y = to_device(batch, device)
            with autocast(device, amp):
                logits = model(x).float()
            loss += float(F.cross_entropy(logits, y, reduction="sum"))
            hits = logits.topk(min(5, logits.size(1)), dim=1).indices == y[:, None]
            top1 += int(hits[:, 0].sum())
            top5 += int(hits.any(1).sum())
            n += y.numel()
            if check is not None:
                check()
    finally:
        model.train(was_training)
    return {
        "loss": loss / max(n, 1),
        "top1": top1 / max(n, 1),
        "top5": top5 / max(n, 1),
        "images": n,
    }


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when ``amp``; otherwise a no-op."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda")


def load_trained(path: str | Path, overrides: Iterable[str] = ()) -> Trained:
    """Rebuild the network of a training checkpoint (or of a run directory's last one).

    Args:
        path: ``checkpoints/last.pt`` or the run directory holding it.
        overrides: ``dotted.key=value`` changes to the recipe it carries (``data.root=...``).

    Raises:
        FactorspaceError: not a readable training checkpoint, or a bad override.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FactorspaceError(f"{path}: no such checkpoint")
    state = load_checkpoint(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise FactorspaceError(f"{path}: not a checkpoint of `factorspace train`")
    genotype = Genotype.model_validate(state["genotype"])
    recipe = _validate(dict(state["recipe"]), path, {}, overrides)
    model = build_model(genotype, recipe.network, recipe.data.image_size)
    model.load_state_dict(state["model"])
    return Trained(model.eval(), genotype, recipe, state["epoch"], state["step"], path)


def evaluate_checkpoint(
    path: str | Path, *, device: str | torch.device = "auto", overrides: Iterable[str] = ()
) -> dict:
    """Top-1 and top-5 accuracy and loss of a training checkpoint on its recipe's test split.

    Returns:
        :func:`evaluate`'s dict, plus ``epoch``, ``step`` and ``checkpoint``.
    """
    trained = load_trained(path, overrides)
    recipe, device = trained.recipe, resolve_device(device)
    data = eval_loaders(recipe.data, recipe.train.batch_size, seed=recipe.train.seed, device=device)
    _check_classes(data.num_classes, recipe.network)
    result = evaluate(trained.model.to(device), data.test, device, amp=recipe.train.amp)
    return {**result, "epoch": trained.epoch, "step": trained.step, "checkpoint": str(trained.path)}


class Trainer:
    """The state of one re-training: network, data, optimizer, position and metrics."""

    def __init__(
        self,
        genotype: Genotype,
        recipe: TrainRecipe,
        device: torch.device,
        console: Console | None,
        distributed: DistributedContext = SINGLE,
    ) -> None:
        self.genotype, self.recipe, self.device = genotype, recipe, device
        self.dist, self.console = distributed, console if distributed.is_main else None
        cfg = recipe.train
        seed_everything(cfg.seed)  # the initial weights, then drop path's draws
        self.model = build_model(genotype, recipe.network, recipe.data.image_size).to(device)
        if cfg.sync_batchnorm:
            self.model = distributed.sync_batchnorm(self.model)
        self.train_model = distributed.wrap(self.model)  # DDP under torchrun; checkpoints: model
        self.data = distributed.shard(
            eval_loaders(
                recipe.data,
                cfg.batch_size,
                seed=cfg.seed,
                device=device,
                cutout=cfg.cutout,
                batch_field="train.batch_size",
            ),
            batch_field="train.batch_size",
        )
        _check_classes(self.data.num_classes, recipe.network)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )
        self.rows: list[dict] = []
        self.epoch, self.step = 0, 0
        self.totals = _new_totals()
        self.stop = _Stop()

    # ---- checkpoints -------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "totals": self.totals,
            "rng": rng_state(),
            "genotype": self.genotype.model_dump(mode="json"),
            "recipe": self.recipe.model_dump(mode="json"),
            "classes": self.data.classes,
        }

    def save(self) -> None:
        if self.dist.is_main:
            save_checkpoint(self.run_dir / CHECKPOINT, self.state())

    def restore(self) -> None:
        state = self.dist.run_on_main(load_checkpoint, self.run_dir / CHECKPOINT)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.step, self.totals = state["epoch"], state["step"], state["totals"]
        set_rng_state(state["rng"])
        self.rows = self.dist.run_on_main(self.metrics.rows)[: self.epoch]

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, run_dir: Path, resume: bool) -> TrainResult:
        self.run_dir, self.metrics = run_dir, MetricsLog(run_dir)
        if resume:
            self.restore()
        self.announce()
        with self.stop, ends_recorded(self, "train GENOTYPE", self.run_dir / CHECKPOINT):
            while self.epoch < self.recipe.train.epochs:
                self.stop.check()
                self.train_epoch()
                self.end_epoch()
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
        set_epoch(self.data.train, self.epoch, batches_done=self.step)
        self.dist.seed_epoch(cfg.seed, self.epoch)  # under torchrun: each process's drop path
        steps = self.step + len(self.data.train)
        bar = EpochProgress(self.console, self.epoch, cfg.epochs, steps)
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
                        f"{self.step + 1}; the last good checkpoint is {self.run_dir / CHECKPOINT}"
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
                every = cfg.checkpoint_every_steps
                if every and self.step % every == 0 and self.step < steps:
                    self.save()
                self.stop.check()
        finally:
            bar.close()

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
        """One SGD step; returns the main head's loss and its correct predictions."""
        cfg, smoothing = self.recipe.train, self.recipe.train.label_smoothing
        with autocast(self.device, cfg.amp):
            out = self.train_model(x)
        logits, logits_aux = out if isinstance(out, tuple) else (out, None)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=smoothing)
        total = loss
        if logits_aux is not None:
            aux = F.cross_entropy(logits_aux.float(), y, label_smoothing=smoothing)
            total = loss + self.recipe.network.auxiliary_weight * aux
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if cfg.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        return loss.detach(), int((logits.argmax(1) == y).sum())

    def end_epoch(self) -> None:
        cfg = self.recipe.train
        started = time.perf_counter()
        self.dist.average_buffers(self.model)  # the BatchNorm statistics: the same everywhere
        test = evaluate(self.model, self.data.test, self.device, amp=cfg.amp, check=self.stop.check)
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

    def announce(self) -> None:
        if self.console is None:
            return
        weights = sum(p.numel() for p in self.model.parameters())
        head = self.model.auxiliary_head
        aux = sum(p.numel() for p in head.parameters()) if head is not None else 0
        start = f", resuming at epoch {self.epoch + 1}" if self.epoch or self.step else ""
        self.console.print(
            f"{self.genotype.name or 'genotype'}: {weights - aux:,} parameters "
            f"(+{aux:,} auxiliary) on {self.device}{start}\n{self.data.describe()}\n"
            f"run directory: {self.run_dir}",
            highlight=False,
            soft_wrap=True,
        )

    def set_status(self, status: str, **extra) -> None:
        if not self.dist.is_main:
            return
        update_run_record(self.run_dir, status=status, epochs_done=self.epoch, **extra)


def _new_totals() -> dict:
    return {"loss": 0.0, "correct": 0, "n": 0, "train_seconds": 0.0}


def _check_classes(found: int, network: NetworkConfig) -> None:
    if found != network.classes:
        raise FactorspaceError(
            f"network.classes={network.classes} but the data has {found} classes; "
            f"set network.classes={found}"
        )


def _check_same_genotype(run_dir: Path, genotype: Genotype) -> None:
    recorded = load_genotype(run_dir / "genotype.json")
    if (recorded.normal, recorded.reduce) != (genotype.normal, genotype.reduce):
        raise FactorspaceError(
            f"{run_dir}: was trained from another genotype ({recorded.name or 'unnamed'}); "
            "--resume needs the same genotype"
        )


def _file_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_")
