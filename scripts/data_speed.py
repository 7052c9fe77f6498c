"""Does the data path keep up with the search step? A search's loaders alone, timed.

    python scripts/data_speed.py RECIPE [--set key=value ...] [--batches 100] [--seed 0]

Builds a search's two loaders (``factorspace.data.search_loaders``: the recipe's dataset, split,
augmentation, ``data.workers`` and ``search.batch_size``) and prints:

* the one-off cost before the first batch: listing and opening the split (``open_split``) and
  decoding the images used into memory (``in_memory``, when they fit in ``CACHE_BYTES``);
* images per second of the loaders alone: ``--batches`` training batches and as many validation
  batches (the pair one search step consumes), after one untimed pair (workers starting), by the
  wall clock (the workers are other processes) and, with ``data.workers=0``, also by this
  process's CPU time.

Compare with the step's images per second (``factorspace bench RECIPE``, or
``scripts/ab_nb201.py``): one step consumes one training and one validation batch.
"""

from __future__ import annotations

import argparse
import os
import time

from factorspace.data import datasets
from factorspace.data.loaders import search_loaders
from factorspace.loader import load_recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--set", action="append", default=[], help="override a recipe field")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    recipe = load_recipe(args.recipe, args.set)
    data, batch = recipe.data, recipe.search.batch_size

    opened = {}
    open_split, in_memory = datasets.open_split, datasets.in_memory

    def timed_open(config, split):
        t, c = time.perf_counter(), time.process_time()
        out = open_split(config, split)
        opened["open_s"] = time.perf_counter() - t
        opened["open_cpu_s"] = time.process_time() - c
        return out

    def timed_in_memory(split, used, size):
        t, c = time.perf_counter(), time.process_time()
        out = in_memory(split, used, size)
        opened["decode_s"] = time.perf_counter() - t
        opened["decode_cpu_s"] = time.process_time() - c
        opened["decoded"] = out.images is not None and split.images is None
        return out

    import factorspace.data.loaders as loaders

    loaders.open_split, loaders.in_memory = timed_open, timed_in_memory
    try:
        started, cpu = time.perf_counter(), time.process_time()
        search = search_loaders(data, batch, seed=args.seed)
        setup_s, setup_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    finally:
        loaders.open_split, loaders.in_memory = open_split, in_memory
    used = len(search.train_indices) + len(search.val_indices)
    print(f"{args.recipe} {' '.join(args.set)}")
    print(f"  {search.describe()}, {data.image_size} px, workers {data.workers}")
    print(
        f"  before the first batch: {setup_s:.2f} s wall, {setup_cpu_s:.2f} s CPU (open the split "
        f"{opened['open_s']:.2f} s wall, {opened['open_cpu_s']:.2f} s CPU; decode {used:,} "
        f"images into memory {opened['decode_s']:.2f} s wall, {opened['decode_cpu_s']:.2f} s CPU"
        f"{'' if opened['decoded'] else ': not decoded, read per batch'})"
    )
    pairs = zip(search.train, search.val, strict=False)
    next(pairs)  # workers start
    wall, cpu, images, n = time.perf_counter(), time.process_time(), 0, 0
    for (x, _), (v, _) in pairs:
        images += len(x) + len(v)
        n += 1
        if n == args.batches:
            break
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rate = f"{images / wall:,.0f} images/s wall"
    if data.workers == 0:
        rate += f", {images / cpu:,.0f} images/s CPU"
    print(f"  loaders alone: {n} train + {n} val batches, {images:,} images: {rate}")
    print(f"  load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
