"""``search(recipe)``: Algorithm 1 over a compiled space, with a run directory that survives.

The run directory holds: recipe.yaml (resolved), run.json (environment, status), metrics.jsonl and
metrics.csv (one row per epoch), arch/epoch_NNN.json (every factor's weights and logits),
genotypes/epoch_NNN.json, genotype.json (final) and checkpoints/last.pt.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
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
from factorspace.rundir import (
    MetricsLog,
    dump_yaml,
    environment,
    load_checkpoint,
    prepare_run_dir,
    save_checkpoint,
    write_json,
)
from factorspace.schema import Recipe
from factorspace.search import optim
from factorspace.search.progress import (
    EpochProgress,
    genotype_line,
    mean_entropy,
    strongest_choices,
)

CHECKPOINT = "checkpoints/last.pt"


@dataclass
class SearchResult:
    run_dir: Path
    genotype: Genotype
    arch_weights: dict[str, dict[str, torch.Tensor]]
    metrics: list[dict]
    status: str = "complete"  # or "early_stopped" (search.early_stop_skip_count)


class Interrupted(FactorspaceError):
    """The run was stopped by Ctrl-C or SIGTERM; its checkpoint was written."""


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
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
) -> SearchResult:
    """Run the recipe's search; returns the run directory, final genotype and weights.

    Example:
        >>> result = factorspace.search(factorspace.load_recipe("recipes/quickstart.yaml"))
        >>> result.genotype.normal.edges[0].op  # doctest: +SKIP
    """
    if seed is not None:
        recipe = recipe.model_copy(
            update={"search": recipe.search.model_copy(update={"seed": seed})}
        )
    device = resolve_device(device)
    run_dir = prepare_run_dir(Path(out) if out else None, recipe.name or "search", resume)
    resolved = recipe.model_dump(mode="json")
    if resume:
        check_same_recipe(run_dir, resolved)
    else:
        dump_yaml(run_dir / "recipe.yaml", resolved)
        write_json(run_dir / "run.json", {"status": "running", "env": environment(device)})
    return Search(recipe, run_dir, device, console).run(resume)


def check_same_recipe(run_dir: Path, resolved: dict) -> None:
    recorded = yaml.safe_load((run_dir / "recipe.yaml").read_text())
    if recorded != resolved:
        diff = sorted(k for k in resolved if recorded.get(k) != resolved.get(k))
        raise FactorspaceError(
            f"{run_dir}: was made by another recipe (differs in: {', '.join(diff)}); "
            "--resume needs the same recipe and --set values"
        )


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM behaves like Ctrl-C for the duration (restored after)."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Search:
    """The state of one search run: supernet, data, optimizers, position and metrics."""

    def __init__(self, recipe: Recipe, run_dir: Path, device: torch.device, console) -> None:
        self.recipe, self.run_dir, self.device, self.console = recipe, run_dir, device, console
        cfg = recipe.search
        seed_everything(cfg.seed)
        self.data = search_loaders(recipe.data, cfg.batch_size, seed=cfg.seed, device=device)
        if self.data.num_classes != recipe.supernet.classes:
            raise FactorspaceError(
                f"supernet.classes={recipe.supernet.classes} but the data has "
                f"{self.data.num_classes} classes; set supernet.classes={self.data.num_classes}"
            )
        self.net: Supernet = compile_supernet(recipe.space, recipe.supernet, device)
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.net.to(memory_format=self.memory_format)
        load_initial_arch(self.net, recipe)
        self.w_opt, self.sched = optim.weight_optimizer(self.net, cfg)
        self.a_opts = optim.arch_optimizers(self.net, cfg)
        self.choices = {f.name: [str(c) for c in f.choices] for f in recipe.space.factors}
        self.choices["joint"] = [c.label() for c in self.net.space.candidates]
        self.metrics = MetricsLog(run_dir)
        self.rows: list[dict] = []
        self.epoch, self.step = 0, 0
        self.totals = new_totals()
        self.writer = tensorboard_writer(run_dir) if cfg.tensorboard else None

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
        save_checkpoint(self.run_dir / CHECKPOINT, self.state())

    def restore(self) -> None:
        state = load_checkpoint(self.run_dir / CHECKPOINT)
        if state.get("split") != {"train": self.data.train_indices, "val": self.data.val_indices}:
            raise FactorspaceError(
                f"{self.run_dir}: the checkpoint's data split differs from this data"
            )
        self.net.load_state_dict(state["model"])
        self.w_opt.load_state_dict(state["weight_optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        for f, o in self.a_opts.items():
            o.load_state_dict(state["arch_optimizers"][f])
        self.epoch, self.step, self.totals = state["epoch"], state["step"], state["totals"]
        set_rng_state(state["rng"])
        self.rows = self.metrics.rows()[: self.epoch]

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, resume: bool) -> SearchResult:
        if resume:
            self.restore()
        cfg = self.recipe.search
        started = time.time()
        stop = None
        with sigterm_as_interrupt():
            try:
                while self.epoch < cfg.epochs and (stop := self.collapse_guard()) is None:
                    self.train_epoch()
                    self.end_epoch()
            except KeyboardInterrupt:
                self.save()
                self.set_status("interrupted")
                raise Interrupted(
                    f"interrupted at epoch {self.epoch + 1}, step {self.step}; checkpoint written. "
                    f"Continue with: factorspace search ... --out {self.run_dir} --resume"
                ) from None
        genotype = derive_genotype(
            self.net,
            max_skip_connects=cfg.max_skip_connects,
            name=self.recipe.name,
            source=str(self.run_dir),
        )
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
                for t, ws in self.net.arch_weights().items()
            },
            self.rows,
            status,
        )

    def train_epoch(self) -> None:
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
                with autocast(self.device, cfg.precision):
                    loss, correct = optim.weight_step(
                        self.net, self.w_opt, train, cfg.weights.grad_clip
                    )
                self.check_finite(loss, "weights")
                if search_arch:
                    val, val_iter = next_batch(
                        val_iter, self.data.val, self.device, self.memory_format
                    )
                    if cfg.order == "second":
                        grad_fn = optim.second_order_grads(self.w_opt, train, cfg)
                    with autocast(self.device, cfg.precision):
                        vloss, _ = optim.arch_steps(
                            self.net, self.a_opts, val, update=cfg.update, grad_fn=grad_fn
                        )
                    self.check_finite(vloss, "architecture")
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
        finally:
            bar.close()
        self.totals["images_per_s"] = bar.images_per_second

    def check_finite(self, loss: torch.Tensor, group: str) -> None:
        if not torch.isfinite(loss):
            raise FactorspaceError(
                f"non-finite {group} loss ({float(loss)}) at epoch {self.epoch + 1}, step "
                f"{self.step + 1}; the last good checkpoint is {self.run_dir / CHECKPOINT}"
            )

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Loss and accuracy on the validation portion (DARTS's ``infer``)."""
        self.net.eval()
        loss = correct = n = 0
        for batch in self.data.val:
            x, y = to_device(batch, self.device, self.memory_format)
            with autocast(self.device, self.recipe.search.precision):
                logits = self.net(x).float()
            loss += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(-1) == y).sum())
            n += y.numel()
        self.net.train()
        return loss / max(n, 1), correct / max(n, 1)

    def end_epoch(self) -> None:
        self.sched.step()
        val_loss, val_acc = self.evaluate()
        weights = {
            t: {f: w.detach().cpu() for f, w in ws.items()}
            for t, ws in self.net.arch_weights().items()
        }
        cap = self.recipe.search.max_skip_connects
        genotype = derive_genotype(
            self.net, max_skip_connects=cap, name=self.recipe.name, source=str(self.run_dir)
        )
        uncapped = genotype if cap is None else derive_genotype(self.net)
        e = self.epoch + 1
        write_json(self.run_dir / "arch" / f"epoch_{e:03d}.json", self.arch_record(e, weights))
        (self.run_dir / "genotypes").mkdir(exist_ok=True)
        save_genotype(genotype, self.run_dir / "genotypes" / f"epoch_{e:03d}.json")
        t = self.totals
        row = {
            "epoch": e,
            "train_loss": t["loss"] / max(t["n"], 1),
            "train_acc": t["correct"] / max(t["n"], 1),
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": self.w_opt.param_groups[0]["lr"],
            "images_per_s": t.get("images_per_s", 0.0),
            "normal_skip_count": skip_count(uncapped.normal),  # before any cap: shows collapse
        }
        for f, w in weights["normal"].items():
            row[f"entropy_{f}"] = mean_entropy(torch.cat([w, weights["reduce"][f]]))
        self.rows.append(row)
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
        path = self.run_dir / "run.json"
        record = json.loads(path.read_text()) if path.exists() else {}
        record.update(status=status, epochs_done=self.epoch, **extra)
        write_json(path, record)


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
