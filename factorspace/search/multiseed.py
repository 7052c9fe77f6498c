"""One recipe searched under several seeds, and how much its result depends on the seed.

``search_seeds(recipe, [0, 1, 2])`` runs :func:`factorspace.search.search` once per seed, in
``PARENT/seed_N``, then writes ``PARENT/summary.json`` and ``PARENT/summary.csv`` (a row per
seed). The JSON holds, per seed: the final genotype, its status (``complete`` or
``early_stopped``), the parameters of its CIFAR-10 network (``None`` if it cannot be built), the
skip-connects of its normal cell and the per-epoch entropy of every factor (``metrics.jsonl``);
and, per edge position (cell, target node, rank of the edge at its node), how often each input
and each choice of each factor was picked.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from factorspace.derive import skip_count
from factorspace.errors import FactorspaceError, Interrupted
from factorspace.genotype import CELL_TYPES, Genotype, load_genotype
from factorspace.run.atomic import atomic_write_text, write_json
from factorspace.run.rundir import MetricsLog, RunDir, csv_text, prepare_run_dir
from factorspace.run.threads import available_cores, threads_per_worker
from factorspace.schema import Recipe, SpaceConfig
from factorspace.schema.space import ArgumentFactor
from factorspace.search.loop import search
from factorspace.search.progress import genotype_line

FINISHED = ("complete", "early_stopped")
PARAMETERS_OF = "cifar10"  # model_info's dataset: DARTS's CIFAR-10 network, 36 channels, 20 cells


def search_seeds(
    recipe: Recipe,
    seeds: Iterable[int],
    *,
    out: Path | str | None = None,
    device: str | torch.device = "auto",
    resume: bool = False,
    console: Console | None = None,
    workers: int = 1,
    threads: int | None = None,
) -> Path:
    """Search ``recipe`` once per seed and summarise the runs; returns the parent directory.

    Args:
        recipe: the recipe; each run overrides only ``search.seed``.
        seeds: distinct integers.
        out: the parent directory (default: ``runs/NAME-TIME-seeds``); must be new or empty.
        device: as for :func:`~factorspace.search.search`.
        resume: continue in ``out``: finished seeds are kept, interrupted ones resumed, missing
            ones run.
        console: where progress goes (``None``: silent; with ``workers`` above 1, one line per
            finished seed).
        workers: seeds searched at once, each in its own process with an equal share of the
            cores (:func:`factorspace.run.threads.threads_per_worker`), never more threads in
            all than the cores.
        threads: the cores the seeds share (default: all this process may use).

    Example::

        parent = search_seeds(load_recipe("recipes/apcdarts_cifar.yaml"), [0, 1, 2])
        summary = json.loads(RunDir(parent).summary_json.read_text())

    Raises:
        FactorspaceError: for repeated seeds or an unusable ``out``; a run's own errors.
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise FactorspaceError(f"seeds must be distinct and at least one: {seeds}")
    out = Path(out) if out else None
    parent = RunDir(prepare_run_dir(out, recipe.name or "search", resume, suffix="-seeds"))
    todo = []
    for seed in seeds:
        run = parent.seed_run(seed)
        if resume and run.status() in FINISHED:
            if console is not None:
                console.print(f"seed {seed}: finished already ({run.root})")
            continue
        todo.append((seed, run.root, resume and run.record.exists()))
    if workers > 1 and len(todo) > 1:
        per_worker = threads_per_worker(workers, available_cores(requested=threads))
        _search_in_workers(recipe, todo, device, workers, per_worker, console)
    else:
        for seed, root, again in todo:
            if console is not None:
                console.rule(f"seed {seed}")
            search(recipe, out=root, device=device, seed=seed, resume=again, console=console)
    summary = summarize(parent.root, recipe, seeds)
    write_json(parent.summary_json, summary)
    atomic_write_text(parent.summary_csv, summary_csv(summary))
    return parent.root


def _search_in_workers(recipe, todo, device, workers: int, threads: int, console) -> None:
    """Each ``(seed, run_dir, resume)`` of ``todo`` searched in a fresh process with ``threads``
    threads, ``workers`` at a time (``spawn``: torch's threads are set before any work)."""
    context = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {
            pool.submit(_seed_worker, recipe, seed, str(root), device, again, threads): seed
            for seed, root, again in todo
        }
        for future in as_completed(futures):
            seed, error = futures[future], future.result()
            if error is not None:
                for f in futures:
                    f.cancel()
                kind = Interrupted if error.startswith("Interrupted") else FactorspaceError
                raise kind(f"seed {seed}: {error.partition(': ')[2]}")
            if console is not None:
                console.print(f"seed {seed}: done ({threads} threads)")


def _seed_worker(recipe, seed: int, root: str, device, resume: bool, threads: int) -> str | None:
    """One seed's search in a worker process; its error as ``"Kind: message"`` (errors with
    keyword arguments do not survive pickling), None when it finished."""
    torch.set_num_threads(threads)
    try:
        search(recipe, out=root, device=device, seed=seed, resume=resume, console=None)
    except FactorspaceError as e:
        return f"{e.__class__.__name__}: {e}"
    return None


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``.

    Raises:
        FactorspaceError: for anything but distinct comma-separated integers.
    """
    seeds = []
    for part in text.split(","):
        try:
            seeds.append(int(part.strip()))
        except ValueError:
            raise FactorspaceError(
                f"--seeds: {part.strip()!r} is not an integer; e.g. --seeds 0,1,2"
            ) from None
    if len(set(seeds)) != len(seeds):
        raise FactorspaceError(f"--seeds: {text!r} repeats a seed")
    return seeds


# --- the summary -------------------------------------------------------------------------------


def summarize(parent: Path, recipe: Recipe, seeds: list[int]) -> dict[str, Any]:
    """The summary of the runs ``parent/seed_N`` (what ``summary.json`` holds)."""
    runs = [run_summary(RunDir(parent).seed_run(seed).root, seed) for seed in seeds]
    genotypes = [Genotype.model_validate(r["genotype"]) for r in runs]
    return {
        "recipe": recipe.name,
        "seeds": seeds,
        "parameters_of": f"{PARAMETERS_OF} network (factorspace.retrain.model_info)",
        "runs": runs,
        "choice_counts": choice_counts(genotypes, recipe.space),
    }


def run_summary(run_dir: Path, seed: int) -> dict[str, Any]:
    """One seed's run: genotype, status, network size, skip-connects, per-epoch entropies."""
    paths = RunDir(run_dir)
    genotype = load_genotype(paths.genotype)
    rows = MetricsLog(paths).rows()
    columns = rows[0] if rows else {}
    factors = [k.removeprefix("entropy_") for k in columns if k.startswith("entropy_")]
    parameters, error = network_parameters(genotype)
    return {
        "seed": seed,
        "run_dir": run_dir.name,
        "status": paths.status(),
        "epochs": len(rows),
        "val_acc": rows[-1]["val_acc"] if rows else None,
        "genotype": genotype.model_dump(mode="json", exclude_none=True),
        "parameters": parameters,
        **({"parameters_error": error} if error else {}),
        "normal_skip_count": skip_count(genotype.normal),
        "normal_skip_count_per_epoch": [r.get("normal_skip_count") for r in rows],
        "entropy": {f: [r.get(f"entropy_{f}") for r in rows] for f in factors},
        # an NB201 space's lookup of the last epoch's cell (cells.nb201): string, accuracies
        **{k: v for k, v in columns_of(rows[-1] if rows else {}, NB201_PREFIX).items()},
    }


NB201_PREFIX = "nb201_"


def columns_of(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The entries of a metrics row whose name starts with ``prefix``."""
    return {k: v for k, v in row.items() if k.startswith(prefix)}


def network_parameters(genotype: Genotype) -> tuple[int | None, str | None]:
    """Parameters of the genotype's CIFAR-10 network, or ``None`` and why it cannot be built."""
    from factorspace.retrain import model_info

    try:
        return model_info(genotype, PARAMETERS_OF)["parameters"], None
    except Exception as e:  # any genotype whose network does not build: recorded, not fatal
        return None, f"{e.__class__.__name__}: {e}"


def choice_counts(genotypes: list[Genotype], space: SpaceConfig) -> list[dict[str, Any]]:
    """Per edge position (cell, target, rank at its node): how often each source and each
    choice of each factor was picked; a factor that does not apply to the edge's operator is
    not counted."""
    keyword = {f.argument: f.name for f in space.factors if isinstance(f, ArgumentFactor)}
    positions: dict[tuple[str, int, int], dict[str, Counter]] = {}
    for genotype in genotypes:
        for cell_type, cell in genotype.cells().items():
            ranks: Counter = Counter()
            for edge in cell.edges:
                key = (cell_type, edge.target, ranks[edge.target])
                ranks[edge.target] += 1
                picks = {"source": edge.source, space.operator.name: edge.op}
                picks |= edge.inputs | {keyword.get(k, k): v for k, v in edge.arguments.items()}
                counts = positions.setdefault(key, {})
                for factor, choice in picks.items():
                    counts.setdefault(factor, Counter())[str(choice)] += 1
    return [
        {
            "cell": cell_type,
            "target": target,
            "rank": rank,
            **{f: dict(c.most_common()) for f, c in counts.items()},
        }
        for (cell_type, target, rank), counts in sorted(
            positions.items(), key=lambda kv: (CELL_TYPES.index(kv[0][0]), *kv[0][1:])
        )
    ]


def summary_csv(summary: dict[str, Any]) -> str:
    """A row per seed: status, accuracy, size, skip-connects, final entropies, both cells."""
    rows = []
    for run in summary["runs"]:
        genotype = Genotype.model_validate(run["genotype"])
        rows.append(
            {
                "seed": run["seed"],
                "status": run["status"],
                "epochs": run["epochs"],
                "val_acc": run["val_acc"],
                "parameters": run["parameters"],
                "normal_skip_count": run["normal_skip_count"],
                **{f"entropy_{f}": (v[-1] if v else None) for f, v in run["entropy"].items()},
                **columns_of(run, NB201_PREFIX),
                **{t: genotype_line(genotype, t) for t in genotype.cell_types},
            }
        )
    return csv_text(rows)
