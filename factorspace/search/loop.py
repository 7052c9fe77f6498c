"""``search(recipe)``: Algorithm 1 over a compiled space, with a run directory that survives.

The run directory holds: recipe.yaml (resolved), run.json (environment, status), metrics.jsonl and
metrics.csv (one row per epoch), arch/epoch_NNN.json (every factor's weights and logits),
genotypes/epoch_NNN.json, genotype.json (final) and checkpoints/last.pt.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from rich.console import Console

from factorspace.compile import Supernet, compile_supernet
from factorspace.data import search_loaders
from factorspace.derive import derive_genotype, skip_count
from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype, save_genotype
from factorspace.run.distributed import SINGLE, DistributedContext
from factorspace.run.rundir import (
    MetricsLog,
    discard_on_failure,
    dump_yaml,
    environment,
    load_checkpoint,
    prepare_run_dir,
    save_checkpoint,
    update_run_record,
    write_json,
)
from factorspace.run.runtime import keep_freed_memory
from factorspace.run.stopping import StopOnSignal, ends_recorded
from factorspace.schema import Recipe
from factorspace.search import optim
from factorspace.search.faults import FiniteGuard, NonFinite
from factorspace.search.progress import (
    EpochProgress,
    genotype_line,
    mean_entropy,
    strongest_choices,
)

CHECKPOINT = "checkpoints/last.pt"
SEARCH_STATE = frozenset(
    ["epoch", "step", "model", "weight_optimizer", "scheduler", "arch_optimizers"]
    + ["totals", "rng", "split"]
)  # what a search checkpoint holds (Search.state)


@dataclass
class SearchResult:
    run_dir: Path
    genotype: Genotype
    arch_weights: dict[str, dict[str, torch.Tensor]]
    metrics: list[dict]
    status: str = "complete"  # or "early_stopped" (search.early_stop_skip_count)


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError:
        raise FactorspaceError(f"--device {device}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FactorspaceError("--device cuda: no CUDA device is available here")
    return device


def search(
    recipe: Recipe,
    *,
    out: Path | str | None = None,
    device: str | torch.device = "auto",
    seed: int | None = None,
    resume: bool = False,
    console: Console | None = None,
    distributed: DistributedContext = SINGLE,
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
    out = Path(out) if out else None
    existed = out is not None and out.exists()
    run_dir = distributed.run_on_main(prepare_run_dir, out, recipe.name or "search", resume)
    resolved = recipe.model_dump(mode="json")
    if resume:
        distributed.run_on_main(check_same_recipe, run_dir, resolved)
        return Search(recipe, run_dir, device, console, distributed).run(resume)
    # Bad data: no run directory is left behind (removed by the main process, which owns it).
    with discard_on_failure(run_dir, existed, owner=distributed.is_main):
        searcher = Search(recipe, run_dir, device, console, distributed)
    if distributed.is_main:
        dump_yaml(run_dir / "recipe.yaml", resolved)
        record = {"status": "running", "seed": recipe.search.seed, "env": environment(device)}
        write_json(run_dir / "run.json", record)
    return searcher.run(resume)


def check_same_recipe(run_dir: Path, resolved: dict) -> None:
    """Refuse to resume ``run_dir`` with a recipe other than the one it recorded."""
    path = run_dir / "recipe.yaml"
    try:
        recorded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise FactorspaceError(
            f"{path}: cannot read the run's recipe ({e.__class__.__name__}); cannot --resume"
        ) from None
    if recorded != resolved:
        diff = differences(recorded, resolved)
        shown = ", ".join(diff[:5]) + (f" and {len(diff) - 5} more" if len(diff) > 5 else "")
        raise FactorspaceError(
            f"{path}: {diff[0] if diff else 'recipe'}: this run was made by another recipe "
            f"(differs in: {shown}); --resume needs the same recipe and --set values"
        )


def differences(a, b, prefix: str = "") -> list[str]:
    """The dotted fields where two resolved recipes differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted({*a, *b}, key=str)
            for d in differences(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        ]
    return [] if a == b else [prefix or "recipe"]


class Search:
    """The state of one search run: supernet, data, optimizers, position and metrics."""

    def __init__(
        self,
        recipe: Recipe,
        run_dir: Path,
        device: torch.device,
        console,
        distributed: DistributedContext = SINGLE,
    ) -> None:
        self.recipe, self.run_dir, self.device, self.dist = recipe, run_dir, device, distributed
        self.console = console if distributed.is_main else None
        cfg = recipe.search
        if distributed.enabled and cfg.on_nonfinite == "skip":
            raise FactorspaceError(
                "search.on_nonfinite=skip: not available under torchrun (the processes could "
                "disagree on which batch to skip); use stop"
            )
        seed_everything(cfg.seed)
        self.data = distributed.shard(
            search_loaders(recipe.data, cfg.batch_size, seed=cfg.seed, device=device),
            batch_field="search.batch_size",
        )
        if self.data.num_classes != recipe.supernet.classes:
            raise FactorspaceError(
                f"supernet.classes={recipe.supernet.classes} but the data has "
                f"{self.data.num_classes} classes; set supernet.classes={self.data.num_classes}"
            )
        self.net: Supernet = compile_supernet(recipe.space, recipe.supernet, device, cfg)
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
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
        self.choices = {f.name: [str(c) for c in f.choices] for f in recipe.space.factors}
        self.choices["joint"] = [c.label() for c in self.net.space.candidates]
        self.metrics = MetricsLog(run_dir)
        self.rows: list[dict] = []
        self.epoch, self.step = 0, 0
        self.totals = new_totals()
        self.writer = tensorboard_writer(run_dir) if cfg.tensorboard and self.dist.is_main else None
        self.stop = StopOnSignal()

    # ---- checkpoints -------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "model": self.net.state_dict(),
            "weight_optimizer": self.w_opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "arch_optimizers": {f: o.state_dict() for f, o in self.a_opts.items()},
            "totals": self.totals,
            "rng": rng_state(),
            "split": {"train": self.data.train_indices, "val": self.data.val_indices},
        }

    def save(self) -> None:
        if self.dist.is_main:
            save_checkpoint(self.run_dir / CHECKPOINT, self.state())

    def restore(self) -> None:
        path = self.run_dir / CHECKPOINT
        state = self.dist.run_on_main(load_checkpoint, path)  # rank 0's, on every process
        if not isinstance(state, dict) or not set(state) >= SEARCH_STATE:
            raise FactorspaceError(f"{path}: not a checkpoint of `factorspace search`")
        if state["split"] != {"train": self.data.train_indices, "val": self.data.val_indices}:
            raise FactorspaceError(f"{path}: the checkpoint's data split differs from this data")
        try:
            self.net.load_state_dict(state["model"])
            self.w_opt.load_state_dict(state["weight_optimizer"])
            self.sched.load_state_dict(state["scheduler"])
            for f, o in self.a_opts.items():
                o.load_state_dict(state["arch_optimizers"][f])
        except (KeyError, ValueError, RuntimeError) as e:
            raise FactorspaceError(
                f"{path}: does not fit this recipe's supernet ({e.__class__.__name__})"
            ) from None
        self.epoch, self.step, self.totals = state["epoch"], state["step"], state["totals"]
        set_rng_state(state["rng"])
        self.rows = self.dist.run_on_main(self.metrics.rows)[: self.epoch]

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, resume: bool) -> SearchResult:
        if resume:
            self.restore()
        cfg = self.recipe.search
        started = time.time()
        stop = None
        guard = FiniteGuard(
            self.net, self.w_opt, self.a_opts, keep_buffers=cfg.on_nonfinite == "skip"
        )
        try:
            with self.stop, ends_recorded(self, "search", self.run_dir / CHECKPOINT):
                while self.epoch < cfg.epochs and (stop := self.collapse_guard()) is None:
                    self.stop.check()
                    self.net.set_epoch(self.epoch, cfg.epochs)  # relaxation schedules
                    self.train_epoch(guard)
                    self.end_epoch()
        finally:
            guard.remove()
        genotype = derive_genotype(
            self.net,
            max_skip_connects=cfg.max_skip_connects,
            name=self.recipe.name,
            source=str(self.run_dir),
        )
        if self.dist.is_main:
            save_genotype(genotype, self.run_dir / "genotype.json")
        status = "complete" if stop is None else "early_stopped"
        extra = {} if stop is None else {"early_stop": stop}
        self.set_status(status, seconds=time.time() - started, **extra)
        if stop is not None and self.console is not None:
            self.console.print(f"stopped early: {stop}")
        if self.writer is not None:
            self.writer.close()
        return SearchResult(
            self.run_dir,
            genotype,
            {
                t: {f: w.detach().cpu() for f, w in ws.items()}
                for t, ws in self.net.arch_probabilities().items()
            },
            self.rows,
            status,
        )

    def train_epoch(self, guard: FiniteGuard) -> None:
        cfg = self.recipe.search
        self.data.set_epoch(self.epoch)
        steps = len(self.data.train)
        bar = EpochProgress(self.console, self.epoch, cfg.epochs, steps)
        search_arch = self.epoch >= cfg.warmup_epochs and bool(self.a_opts)
        grad_fn = None
        val_iter = iter(self.data.val)
        self.net.train()
        try:
            for i, batch in enumerate(self.data.train):
                if i < self.step:  # resuming mid-epoch: these batches were already used
                    if search_arch:
                        _, val_iter = next_batch(val_iter, self.data.val, torch.device("cpu"))
                    continue
                train = to_device(batch, self.device, self.memory_format)
                if search_arch:  # drawn before the steps, so a skipped batch keeps the order
                    val, val_iter = next_batch(
                        val_iter, self.data.val, self.device, self.memory_format
                    )
                try:
                    with autocast(self.device, cfg.precision), guard.weight_step():
                        loss, correct = optim.weight_step(
                            self.model, self.w_opt, train, cfg.weights.grad_clip
                        )
                    self.check_finite(loss, "weights")
                    if search_arch:
                        if cfg.order == "second":
                            grad_fn = optim.second_order_grads(self.w_opt, train, cfg)
                        with autocast(self.device, cfg.precision):
                            vloss, _ = optim.arch_steps(
                                self.net,
                                self.a_opts,
                                val,
                                update=cfg.update,
                                grad_fn=self.dist.averaged(grad_fn or optim.first_order_grads),
                            )
                        self.check_finite(vloss, "architecture")
                except NonFinite as e:
                    self.nonfinite(e, guard, i, steps)
                else:
                    n = train[1].numel()
                    self.totals["loss"] += float(loss) * n
                    self.totals["correct"] += correct
                    self.totals["n"] += n
                self.step = i + 1
                bar.update(
                    self.step,
                    n,
                    self.totals["loss"] / self.totals["n"],
                    self.totals["correct"] / self.totals["n"],
                )
                every = cfg.checkpoint_every_steps
                if every and self.step % every == 0 and self.step < steps:
                    self.save()
                self.stop.check()
        finally:
            bar.close()
        self.totals["images_per_s"] = bar.images_per_second

    def check_finite(self, loss: torch.Tensor, group: str) -> None:
        if not torch.isfinite(loss):
            raise NonFinite(f"loss ({float(loss)})", group)

    def nonfinite(self, error: NonFinite, guard: FiniteGuard, index: int, steps: int) -> None:
        """Stop with a message naming the step, epoch and group, or (on_nonfinite: skip) drop
        the batch: its updates were not applied, the buffers are put back, and it is counted."""
        if self.recipe.search.on_nonfinite == "skip":
            guard.rollback()
            self.w_opt.zero_grad(set_to_none=True)
            self.totals["skipped"] = self.totals.get("skipped", 0) + 1
            return
        raise FactorspaceError(
            f"{error} at epoch {self.epoch + 1}, step {index + 1} of {steps}; the run stops and "
            f"the last good checkpoint stays: {self.run_dir / CHECKPOINT} (set "
            "search.on_nonfinite=skip to skip such batches)"
        )

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Loss and accuracy on the validation portion (DARTS's ``infer``)."""
        self.dist.average_buffers(self.net)  # the BatchNorm statistics: the same on every process
        self.net.eval()
        loss = correct = n = 0
        for batch in self.data.val:
            x, y = to_device(batch, self.device, self.memory_format)
            with autocast(self.device, self.recipe.search.precision):
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
        self.sched.step()
        weights = {
            t: {f: w.detach().cpu() for f, w in ws.items()}
            for t, ws in self.net.arch_probabilities().items()
        }
        cap = self.recipe.search.max_skip_connects
        genotype = derive_genotype(
            self.net, max_skip_connects=cap, name=self.recipe.name, source=str(self.run_dir)
        )
        uncapped = genotype if cap is None else derive_genotype(self.net)
        e = self.epoch + 1
        if self.dist.is_main:
            arch = self.arch_record(e, weights)
            write_json(self.run_dir / "arch" / f"epoch_{e:03d}.json", arch)
            (self.run_dir / "genotypes").mkdir(exist_ok=True)
            save_genotype(genotype, self.run_dir / "genotypes" / f"epoch_{e:03d}.json")
        t = self.dist.reduce_totals(self.totals)  # every process's images
        row = {
            "epoch": e,
            "train_loss": t["loss"] / max(t["n"], 1),
            "train_acc": t["correct"] / max(t["n"], 1),
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": self.w_opt.param_groups[0]["lr"],
            "images_per_s": t.get("images_per_s", 0.0),
            "normal_skip_count": skip_count(uncapped.normal),  # before any cap: shows collapse
            "skipped_batches": t.get("skipped", 0),  # non-finite, under on_nonfinite: skip
        }
        for f, w in weights["normal"].items():
            row[f"entropy_{f}"] = mean_entropy(torch.cat([w, weights["reduce"][f]]))
        self.rows.append(row)
        if self.dist.is_main:
            self.metrics.write(self.rows)
        if self.writer is not None:
            for k, v in row.items():
                if k != "epoch":
                    self.writer.add_scalar(k, v, e)
        self.epoch, self.step, self.totals = e, 0, new_totals()
        self.save()
        if self.console is not None:
            self.console.print(
                f"epoch {e}/{self.recipe.search.epochs}  train loss {row['train_loss']:.3f} "
                f"acc {100 * row['train_acc']:.1f}%  val loss {val_loss:.3f} acc {100 * val_acc:.1f}%"
                f"  {row['images_per_s']:.0f} img/s"
            )
            self.console.print(f"  strongest  {strongest_choices(weights, self.choices)}")
            self.console.print(f"  normal     {genotype_line(genotype)}", highlight=False)

    def collapse_guard(self) -> str | None:
        """Why to stop now (search.early_stop_skip_count), judged on the last epoch's metrics;
        None to go on. An epoch of the warm-up, which leaves the architecture alone, never stops."""
        limit = self.recipe.search.early_stop_skip_count
        if limit is None or not self.rows or self.epoch <= self.recipe.search.warmup_epochs:
            return None
        count = self.rows[-1]["normal_skip_count"]
        if count <= limit:
            return None
        return (
            f"epoch {self.epoch}: the normal cell has {count} skip-connects, more than "
            f"search.early_stop_skip_count = {limit}"
        )

    def arch_record(self, epoch: int, weights) -> dict:
        record = {
            "epoch": epoch,
            "edges": [list(e) for e in self.net.space.edge_list()],
            "choices": {f: self.choices[f] for f in self.net.space.searched_factors},
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

    def set_status(self, status: str, **extra) -> None:
        if not self.dist.is_main:
            return
        update_run_record(self.run_dir, status=status, epochs_done=self.epoch, **extra)


def new_totals() -> dict:
    return {"loss": 0.0, "correct": 0, "n": 0}


def to_device(batch, device: torch.device, memory_format=torch.contiguous_format):
    x, y = batch
    x = x.to(device, non_blocking=True).contiguous(memory_format=memory_format)
    return x, y.to(device, non_blocking=True)


def next_batch(it, loader, device, memory_format=torch.contiguous_format):
    try:
        batch = next(it)
    except StopIteration:
        it = iter(loader)
        batch = next(it)
    return to_device(batch, device, memory_format), it


def autocast(device: torch.device, precision: str):
    """bf16 autocast of the forward passes when the recipe asks for it; fp32 otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict:
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_initial_arch(net: Supernet, recipe: Recipe) -> None:
    """Config-A: a factor's logits loaded from an earlier run (and usually frozen)."""
    for factor in net.space.searched_factors:
        source = recipe.search.arch_for(factor).init_from
        if source is None:
            continue
        path = Path(source)
        if path.is_dir():
            files = sorted((path / "arch").glob("epoch_*.json"))
            if not files:
                raise FactorspaceError(
                    f"search.arch_overrides.{factor}.init_from: {path} has no arch/"
                )
            path = files[-1]
        try:
            alphas = json.loads(path.read_text())["alphas"]
            with torch.no_grad():
                for t in net.arch:
                    net.arch[t][factor].copy_(torch.tensor(alphas[t][factor]))
        except (OSError, KeyError, ValueError, RuntimeError) as e:
            raise FactorspaceError(
                f"search.arch_overrides.{factor}.init_from: cannot load {factor!r} from {path} "
                f"({e.__class__.__name__}: {e})"
            ) from None


def tensorboard_writer(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))
