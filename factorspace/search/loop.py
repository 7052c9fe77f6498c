"""``search(recipe)``: Algorithm 1 over a compiled space, with a run directory that survives
(its files: :class:`factorspace.run.rundir.RunDir`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from rich.console import Console

from factorspace.compile import Supernet, compile_supernet
from factorspace.data import rebatched, search_loaders
from factorspace.derive import derive_genotype, skip_count
from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype, save_genotype
from factorspace.regularize import weight_step as regularized_weight_step
from factorspace.run.atomic import write_json
from factorspace.run.base import POSITION, Run, open_run
from factorspace.run.device import next_batch, resolve_device, supernet_memory_format, to_device
from factorspace.run.distributed import SINGLE, DistributedContext
from factorspace.run.precision import autocast, backward_and_step, grad_scaler
from factorspace.run.progress import EpochProgress, RunConsole, run_console
from factorspace.run.resume import check_same_recipe
from factorspace.run.runtime import keep_freed_memory
from factorspace.run.seeding import seed_everything
from factorspace.run.tensorboard import tensorboard_writer
from factorspace.schema import Recipe
from factorspace.search import optim
from factorspace.search.early_stop import EarlyStopping
from factorspace.search.faults import (
    FiniteGuard,
    NonFinite,
    check_single_path_allowed,
    check_skip_allowed,
    nonfinite_hint,
)
from factorspace.search.init_arch import load_initial_arch
from factorspace.search.progress import mean_entropy, print_end, print_epoch, print_header
from factorspace.search.selecting import check_selection, final_genotype
from factorspace.search.step import arch_grad_fn, check_arch_optimizers, check_finite
from factorspace.search.unrolled import pre_step_weights


@dataclass
class SearchResult:
    run_dir: Path
    genotype: Genotype
    arch_weights: dict[str, dict[str, torch.Tensor]]
    metrics: list[dict]
    status: str = "complete"  # or "early_stopped" (search.early_stop, early_stop_skip_count)


def search(
    recipe: Recipe,
    *,
    out: Path | str | None = None,
    device: str | torch.device = "auto",
    seed: int | None = None,
    resume: bool = False,
    console: Console | None = None,
    distributed: DistributedContext = SINGLE,
    log_every: float | None = None,
) -> SearchResult:
    """Run the recipe's search; returns the run directory, final genotype and weights.

    ``distributed`` (:func:`factorspace.run.distributed.launch`, under torchrun) makes this process
    one of several sharing each batch; rank 0 alone writes the run directory.

    Example:
        >>> result = factorspace.search(factorspace.load_recipe("recipes/quickstart.yaml"))
        >>> result.genotype.normal.edges[0].op  # doctest: +SKIP
    """
    if seed is not None:
        recipe = recipe.model_copy(
            update={"search": recipe.search.model_copy(update={"seed": seed})}
        )
    device = resolve_device(device)
    keep_freed_memory(device)  # CPU: malloc keeps activation buffers, no page faults per step
    resolved = recipe.model_dump(mode="json")
    console = RunConsole(console, log_every=log_every)  # and run.log, once there is a run dir
    searcher = open_run(  # bad data: no run directory is left behind
        Path(out) if out else None,
        recipe.name or "search",
        resume,
        lambda run_dir: Search(recipe, run_dir, device, console, distributed),
        distributed=distributed,
        checks=[partial(check_same_recipe, resolved=resolved, model=type(recipe))],
    )
    with searcher:  # the run directory's lock held; an escaping error recorded as the failure
        if not searcher.resuming:
            searcher.record_start(resolved, seed=recipe.search.seed)
        return searcher.run(searcher.resuming)


class Search(Run):
    """The state of one search run: supernet, data, optimizers, position and metrics."""

    checkpoint_keys = POSITION | {"model", "weight_optimizer", "scheduler", "arch_optimizers"}
    checkpoint_keys |= {"split"}

    def __init__(
        self,
        recipe: Recipe,
        run_dir: Path,
        device: torch.device,
        console,
        distributed: DistributedContext = SINGLE,
    ) -> None:
        super().__init__(run_dir, device, console, distributed)
        self.console = run_console(self.console, self.paths.run_log if self.dist.is_main else None)
        self.recipe, cfg = recipe, recipe.search
        check_skip_allowed(cfg.on_nonfinite, distributed)
        seed_everything(cfg.seed)
        self.data = distributed.shard(
            search_loaders(recipe.data, cfg.batch_size, seed=cfg.seed, device=device),
            batch_field="search.batch_size",
        )
        if self.data.num_classes != recipe.supernet.classes:
            raise FactorspaceError(
                f"{recipe.supernet.classes}, but the data has {self.data.num_classes} classes; "
                f"set supernet.classes={self.data.num_classes}",
                field="supernet.classes",
            )
        self.net: Supernet = compile_supernet(recipe.space, recipe.supernet, device, cfg)
        check_single_path_allowed(self.net, distributed)
        check_selection(self)  # e.g. DARTS-PT on a sampling relaxation: refused now, not at the end
        self.memory_format = supernet_memory_format(recipe, device)
        self.net.to(memory_format=self.memory_format)
        if cfg.compile:
            self.net.compile_mixing()
        load_initial_arch(self.net, recipe)
        if cfg.sync_batchnorm:
            self.net = distributed.sync_batchnorm(self.net)
        distributed.broadcast_(self.net.arch.parameters())  # DDP leaves them out: start equal
        # The weight step's forward goes through DDP; the architecture's run on self.net (see
        # factorspace.run.distributed for why).
        self.model = distributed.wrap(self.net, ignore=self.net.arch.parameters())
        self.w_opt, self.sched = optim.weight_optimizer(self.net, cfg)
        self.a_opts = optim.arch_optimizers(self.net, cfg)
        self.choices = self.net.space.groups  # group -> its choices' labels
        self.scaler = grad_scaler(device, cfg.precision)
        self.totals, self.early = new_totals(), EarlyStopping(self)  # early: search.early_stop
        self.writer = None
        if cfg.tensorboard and self.dist.is_main:
            self.writer = tensorboard_writer(self.paths.tensorboard)

    # ---- checkpoints -------------------------------------------------------------------------
    def state(self) -> dict:
        state = {
            **self.position(),
            "model": self.net.state_dict(),
            "weight_optimizer": self.w_opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "arch_optimizers": {f: o.state_dict() for f, o in self.a_opts.items()},
            "split": {"train": self.data.train_indices, "val": self.data.val_indices},
        }
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        return state

    def load_state(self, state: dict, path: Path) -> None:
        if state["split"] != {"train": self.data.train_indices, "val": self.data.val_indices}:
            raise FactorspaceError(f"{path}: the checkpoint's data split differs from this data")
        check_arch_optimizers(state["arch_optimizers"], self.a_opts, path)
        try:
            self.net.load_state_dict(state["model"])
            self.w_opt.load_state_dict(state["weight_optimizer"])
            self.sched.load_state_dict(state["scheduler"])
            for f, o in self.a_opts.items():
                o.load_state_dict(state["arch_optimizers"][f])
            if self.scaler is not None:
                self.scaler.load_state_dict(state["scaler"])
        except (KeyError, ValueError, RuntimeError) as e:
            raise FactorspaceError(
                f"{path}: does not fit this recipe's supernet ({e.__class__.__name__})"
            ) from None

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, resume: bool) -> SearchResult:
        if resume:
            self.restore()
        print_header(self.console, self.recipe, self.data, self, resume)
        cfg = self.recipe.search
        started = time.time()
        stop = None
        guard = FiniteGuard(
            self.net, self.w_opt, self.a_opts, keep_buffers=cfg.on_nonfinite == "skip"
        )
        try:
            with self.recorded_end():
                while (
                    self.epoch < cfg.epochs
                    and (stop := self.early.check(self.rows, self.epoch)) is None
                ):
                    self.stop.check()
                    self.net.set_epoch(self.epoch, cfg.epochs)  # relaxation schedules
                    self.train_epoch(guard)
                    self.end_epoch()
        finally:
            guard.remove()
        genotype = final_genotype(self)  # search.selection: DARTS's argmax unless set
        if self.dist.is_main:
            save_genotype(genotype, self.paths.genotype)
        status = "complete" if stop is None else "early_stopped"
        extra = {} if stop is None else stop.record()
        self.set_status(status, seconds=time.time() - started, **extra)
        print_end(self.console, stop, self.net.space.family.summary_line(self.net.space, genotype))
        if self.writer is not None:
            self.writer.close()
        return SearchResult(self.run_dir, genotype, detached_weights(self.net), self.rows, status)

    def train_epoch(self, guard: FiniteGuard) -> None:
        cfg = self.recipe.search
        self.data.set_epoch(self.epoch)
        steps = len(self.data.train)
        bar = EpochProgress(self.console, self.epoch, cfg.epochs, steps)
        search_arch = self.epoch >= cfg.warmup_epochs and bool(self.a_opts)
        val_iter = iter(self.data.val)
        self.net.train()
        try:
            for i, batch in enumerate(self.data.train):
                if i < self.step:  # resuming mid-epoch: these batches were already used
                    if search_arch:
                        _, val_iter = next_batch(val_iter, self.data.val, torch.device("cpu"))
                    continue
                train = to_device(batch, self.device, self.memory_format)
                val = None
                if search_arch:  # drawn before the steps, so a skipped batch keeps the order
                    val, val_iter = next_batch(
                        val_iter, self.data.val, self.device, self.memory_format
                    )
                n = 0  # images counted: none for a skipped batch
                try:
                    loss, correct = self.iteration(train, val, guard)
                except NonFinite as e:
                    self.nonfinite(e, guard, i, steps)
                else:
                    n = train[1].numel()
                    self.totals["loss"] += float(loss) * n
                    self.totals["correct"] += correct
                    self.totals["n"] += n
                self.step = i + 1
                seen = max(self.totals["n"], 1)  # 0 while every batch so far was skipped
                bar.update(self.step, n, self.totals["loss"] / seen, self.totals["correct"] / seen)
                every = cfg.checkpoint_every_steps
                if every and self.step % every == 0 and self.step < steps:
                    self.save()
                self.stop.check()
        finally:
            bar.close()
        self.totals["images_per_s"] = bar.images_per_second

    def iteration(self, train, val, guard: FiniteGuard) -> tuple[torch.Tensor, int]:
        """The weight step and, given a validation batch, the architecture steps, in
        ``search.step_order`` (see :mod:`factorspace.search.step`)."""
        cfg = self.recipe.search
        arch_first = val is not None and cfg.step_order == "arch_first"
        pre_step = None
        if arch_first:
            guard.snapshot()
            self.arch_step(val, train, None, guard)
        elif val is not None and cfg.order == "second":
            pre_step = pre_step_weights(self.net)  # the unrolling's origin (unrolled.py)
        with autocast(self.device, cfg.precision), guard.weight_step(snapshot=not arch_first):
            loss, correct = self.weight_step(train)
        check_finite(loss, "weights")
        if val is not None and not arch_first:
            self.arch_step(val, train, pre_step, guard)
        return loss, correct

    def arch_step(
        self, val, train, pre_step: list[torch.Tensor] | None, guard: FiniteGuard
    ) -> None:
        """Lines 4-5 of Algorithm 1: every architecture group's step on the validation batch."""
        cfg = self.recipe.search
        grad_fn = arch_grad_fn(cfg, self.w_opt, train, pre_step)
        with autocast(self.device, cfg.precision), guard.arch_step():
            vloss, _ = optim.arch_steps(
                self.net, self.a_opts, val, update=cfg.update, grad_fn=self.dist.averaged(grad_fn)
            )
        check_finite(vloss, "architecture")

    def weight_step(self, train) -> tuple[torch.Tensor, int]:
        """Line 3 of Algorithm 1 (:func:`~factorspace.search.optim.weight_step`); under fp16 with
        the loss scaled (the architecture steps are not: their gradients are not clipped)."""
        clip = self.recipe.search.weights.grad_clip
        with regularized_weight_step(self.net):  # SDARTS-RS's perturbation (regularize)
            if self.scaler is None:
                return optim.weight_step(self.model, self.w_opt, train, clip)
            self.w_opt.zero_grad(set_to_none=True)
            loss, correct = optim.loss_and_correct(self.model, train)
        params = self.model.weight_parameters()
        backward_and_step(loss, self.w_opt, params, clip, self.scaler, inputs=params)
        return loss.detach(), correct

    def nonfinite(self, error: NonFinite, guard: FiniteGuard, index: int, steps: int) -> None:
        """Stop with a message naming the step, epoch and group, or (on_nonfinite: skip) drop
        the batch: its updates were not applied, the buffers are put back, and it is counted."""
        skip = self.recipe.search.on_nonfinite == "skip"
        if skip and error.skippable:
            guard.rollback()
            self.w_opt.zero_grad(set_to_none=True)
            self.totals["skipped"] = self.totals.get("skipped", 0) + 1
            return
        raise FactorspaceError(
            f"{error} at epoch {self.epoch + 1}, step {index + 1} of {steps}; the run stops "
            f"and {self.checkpoint_note()} ({nonfinite_hint(error, skip)})"
        )

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Loss and accuracy on the validation portion (DARTS's ``infer``)."""
        self.dist.average_buffers(self.net)  # the BatchNorm statistics: the same on every process
        self.net.eval()
        cfg, loss, correct, n = self.recipe.search, 0, 0, 0
        for batch in rebatched(self.data.val, self.dist.share(cfg.eval_batch)):  # same images
            x, y = to_device(batch, self.device, self.memory_format)
            with autocast(self.device, cfg.precision):
                logits = self.net(x).float()
            loss += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(-1) == y).sum())
            n += y.numel()
            self.stop.check()
        self.net.train()
        t = self.dist.reduce_totals({"loss": loss, "correct": correct, "n": n})
        return t["loss"] / max(t["n"], 1), t["correct"] / max(t["n"], 1)

    def end_epoch(self) -> None:
        val_loss, val_acc = self.evaluate()  # may stop (a signal): nothing of the epoch end done
        lr = self.w_opt.param_groups[0]["lr"]  # the rate this epoch trained at
        optim.step_schedule(self.sched)
        weights = detached_weights(self.net)
        cap = self.recipe.search.max_skip_connects
        genotype = derive_genotype(
            self.net, max_skip_connects=cap, name=self.recipe.name, source=str(self.run_dir)
        )
        uncapped = genotype if cap is None else derive_genotype(self.net)
        e = self.epoch + 1
        if self.dist.is_main:
            arch = self.arch_record(e, weights)
            write_json(self.paths.arch(e), arch)
            self.paths.genotypes_dir.mkdir(exist_ok=True)
            save_genotype(genotype, self.paths.epoch_genotype(e))
        t = self.dist.reduce_totals(self.totals)  # every process's images
        row = {
            "epoch": e,
            "train_loss": t["loss"] / max(t["n"], 1),
            "train_acc": t["correct"] / max(t["n"], 1),
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": lr,
            "images_per_s": t.get("images_per_s", 0.0),
            "normal_skip_count": skip_count(uncapped.normal),  # before any cap: shows collapse
            "skipped_batches": t.get("skipped", 0),  # non-finite, under on_nonfinite: skip
        }
        for f in self.net.space.searched_factors:  # over the cell types (DARTS: normal, reduce)
            row[f"entropy_{f}"] = mean_entropy(torch.cat([ws[f] for ws in weights.values()]))
        row |= self.net.space.family.epoch_metrics(self.net.space, genotype)  # NB201: lookup
        row |= self.early.measure(e, weights)  # search.early_stop's columns, if any
        self.rows.append(row)
        if self.dist.is_main:
            self.metrics.write(self.rows)
        if self.writer is not None:
            for k, v in row.items():
                if k != "epoch":
                    self.writer.add_scalar(k, v, e)
        self.epoch, self.step, self.totals = e, 0, new_totals()
        self.save()
        print_epoch(self.console, row, self.recipe.search.epochs, weights, self.choices, genotype)

    def arch_record(self, epoch: int, weights) -> dict:
        record = {
            "epoch": epoch,
            "edges": [list(e) for e in self.net.space.edge_list()],
            "choices": self.choices,
            "weights": {t: {f: w.tolist() for f, w in ws.items()} for t, ws in weights.items()},
            "alphas": {
                t: {f: p.detach().cpu().tolist() for f, p in self.net.arch[t].items()}
                for t in self.net.arch
            },
        }
        edge_weights = self.net.edge_weights()
        if edge_weights is not None:
            record["edge_weights"] = {t: w.detach().cpu().tolist() for t, w in edge_weights.items()}
        return record


def detached_weights(net: Supernet) -> dict[str, dict[str, torch.Tensor]]:
    """The relaxation's probabilities (cell type -> group -> edges x choices), on the CPU."""
    return {
        t: {f: w.detach().cpu() for f, w in ws.items()}
        for t, ws in net.arch_probabilities().items()
    }


def new_totals() -> dict:
    return {"loss": 0.0, "correct": 0, "n": 0}
