"""What each search of an NB201 study costs on one core, and what training one cell would cost.

The machine this project runs on is shared, so wall-clock estimates (``factorspace space
--estimate``) move with the other jobs. This script runs the same estimate
(:func:`factorspace.estimate.estimate_search`: real steps on real batches after a warm-up,
multiplied out over the epochs) for every variant of a study, timed with this process's CPU time
(one thread: the time one free core would take), and prints a table. It also times

* the decoding of the study's images into memory (part of every search's setup), and
* training ONE NB201 cell at the proxy scale: the fixed network (``build_nb201_network``) of
  cells drawn uniformly from the benchmark, SGD steps on the weight half at the search's batch
  size and an evaluation pass over the validation half, per epoch. A search's time divided by
  this gives K, the number of cells random search could have trained in its place.

    OMP_NUM_THREADS=1 python scripts/nb201_proxy_cost.py recipes/studies/nb201_small.yaml \
        [--root ../shared/datasets/cifar10-jpeg] [--steps 10] [--cell-epochs 30]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

import torch

CLOCK = time.process_time


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def variant_recipes(study_path: Path, root: str | None):
    from factorspace.loader import load_recipe
    from factorspace.study import load_study
    from factorspace.study.schema import PLACEHOLDER

    study = load_study(study_path)
    extra = [f"data.root={root}"] if root else []
    for name, variant in study.variants.items():
        if variant.search is not None:
            overrides = [s for s in variant.search.set if not PLACEHOLDER.search(s)] + extra
            yield name, load_recipe(variant.search.recipe, overrides)


def decode_seconds(recipe) -> tuple[float, int]:
    """CPU seconds to open the split and decode the search's images (both halves)."""
    from factorspace.data.loaders import search_loaders

    started = CLOCK()
    data = search_loaders(recipe.data, recipe.search.batch_size, seed=0)
    return CLOCK() - started, len(data.train_indices) + len(data.val_indices)


def cell_cost(recipe, epochs: int, cells: int, steps: int) -> dict:
    """CPU seconds of one epoch (steps on the weight half + an evaluation of the other half) of
    the fixed network of ``cells`` uniformly drawn benchmark cells; mean over the cells."""
    from factorspace.cells.nb201 import from_nb201_string
    from factorspace.data.loaders import search_loaders
    from factorspace.evidence import nb201
    from factorspace.retrain.nb201 import build_nb201_network

    data = search_loaders(recipe.data, recipe.search.batch_size, seed=0)
    table, rng = nb201.load_table(), random.Random(0)
    net_cfg, w = recipe.supernet, recipe.search.weights
    per_step, per_eval = [], []
    batches = iter(data.train)
    for _ in range(cells):
        arch = rng.choice(table.records).arch
        net = build_nb201_network(
            from_nb201_string(arch), channels=net_cfg.channels,
            cells_per_stage=net_cfg.cells_per_stage, classes=net_cfg.classes,
        )  # fmt: skip
        opt = torch.optim.SGD(net.parameters(), lr=w.lr, momentum=w.momentum)
        times = []
        for i in range(steps + 1):
            try:
                x, y = next(batches)
            except StopIteration:
                batches = iter(data.train)
                x, y = next(batches)
            started = CLOCK()
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
            if i:  # the first step allocates
                times.append(CLOCK() - started)
        per_step.append(statistics.median(times))
        net.eval()
        x, _ = next(iter(data.val))
        with torch.no_grad():
            started = CLOCK()
            net(x)
            per_eval.append(CLOCK() - started)
    step, evaluation = statistics.fmean(per_step), statistics.fmean(per_eval)
    epoch = len(data.train) * step + len(data.val) * evaluation
    return {"step": step, "eval": evaluation, "epoch": epoch, "total": epochs * epoch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--root", help="data.root for every search (default: the study's)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per estimate")
    parser.add_argument("--variants", help="comma-separated variants (default: all; '': none)")
    parser.add_argument("--cell-epochs", type=int, default=0, help="also cost one cell's training")
    parser.add_argument("--cells", type=int, default=10, help="cells drawn for that cost")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from factorspace.estimate import duration, estimate_search

    print(f"threads {torch.get_num_threads()}, load average {load_average()}")
    wanted = set(args.variants.split(",")) if args.variants is not None else None
    recipes = dict(variant_recipes(args.study, args.root))
    for name, recipe in recipes.items():
        if wanted is not None and name not in wanted:
            continue
        e = estimate_search(recipe, device="cpu", steps=args.steps, clock=CLOCK)
        epoch = e.steps_per_epoch * e.step_s + e.eval_batches_per_epoch * e.eval_batch_s
        print(
            f"{name:<22} step {e.step_s:.3f} s x {e.steps_per_epoch}, eval {e.eval_batch_s:.3f} s"
            f" x {e.eval_batches_per_epoch}: {epoch:.1f} s/epoch x {e.epochs} epochs + setup "
            f"{e.setup_s:.1f} s = {duration(e.total_s)} CPU (load {load_average()})",
            flush=True,
        )
    recipe = next(iter(recipes.values()))  # the proxy's data and network: every variant's
    seconds, images = decode_seconds(recipe)
    print(f"decoding {images:,} images into memory: {seconds:.1f} s CPU")
    if args.cell_epochs:
        c = cell_cost(recipe, args.cell_epochs, args.cells, args.steps)
        print(
            f"one cell's training ({args.cells} uniform cells): step {c['step']:.3f} s, eval "
            f"batch {c['eval']:.3f} s, {c['epoch']:.1f} s/epoch x {args.cell_epochs} epochs = "
            f"{duration(c['total'])} CPU"
        )
    print(f"load average at the end {load_average()}")


if __name__ == "__main__":
    main()
