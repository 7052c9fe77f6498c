"""A study's ``evaluate: nb201``: each derived cell's trained accuracy looked up in NAS-Bench-201.

Instead of re-training, a cell's row carries its benchmark string, its test accuracy (%) on the
three data sets (:mod:`factorspace.evidence.nb201`), its CIFAR-10 rank among the 15,625 cells and
its count of parameter-free edges (the shape of DARTS's collapse). Every variant must search an
NB201 space (every cell it can derive is in the table): :func:`check_nb201_variants` refuses
one that does not when the study file is read, at its ``search`` line, before any cell runs.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from factorspace.errors import FieldError
from factorspace.evidence import nb201
from factorspace.evidence.nb201_published import parameter_free_edges

DATASET_FIELDS = [f"nb201_{d}" for d in nb201.DATASETS]
"""The looked-up test accuracies (%), named as a search's per-epoch metrics name them."""


def check_nb201_variants(study) -> None:
    """Refuse a variant whose search space derives cells that are not in the benchmark's table.

    A ``set`` item naming ``{search:VARIANT}`` is left out (its run directory exists only once
    the study runs).

    Raises:
        FieldError: at ``variants.NAME.search``, saying why the space is not NAS-Bench-201's.
        RecipeError: a recipe, or an override, that is not valid (located in that recipe).
    """
    from factorspace.cells.nb201 import is_nb201_space
    from factorspace.loader import load_recipe
    from factorspace.space import Space
    from factorspace.study.schema import PLACEHOLDER

    for name, variant in study.variants.items():
        if variant.search is None:
            continue
        overrides = [s for s in variant.search.set if not PLACEHOLDER.search(s)]
        recipe = load_recipe(variant.search.recipe, overrides)
        space = Space(recipe.space)
        if not is_nb201_space(space):
            raise FieldError(
                ("variants", name, "search"),
                f"evaluate: nb201 looks each derived cell up in NAS-Bench-201's table, but "
                f"{Path(variant.search.recipe).name} searches {_described(space)}: use an NB201 "
                "recipe (recipes/nb201_*.yaml) or evaluate: retrain",
            )


def _described(space) -> str:
    if space.family.name != "nb201":
        return f"a {space.family.name} cell (space.cell.kind: nb201 is the benchmark's)"
    if space.nodes != nb201.NODES:
        return f"a cell of {space.nodes} nodes (the benchmark's has {nb201.NODES})"
    return (
        "operations outside the benchmark's five "
        f"({', '.join(nb201.OPERATIONS)}; nor_conv with kernel_size 1 or 3)"
    )


def lookup_row(
    variant: str,
    seed: int,
    genotype,
    genotype_file: str,
    search_seconds: float,
    search_cpu_seconds: float | None = None,
) -> dict:
    """One row of an nb201 study's results.csv: the search's wall and CPU seconds, the cell, its
    accuracies (%), CIFAR-10 rank and count of parameter-free edges."""
    from factorspace.cells.nb201 import to_nb201_string

    table = nb201.load_table()
    arch = to_nb201_string(genotype)
    record = table.lookup(arch)
    row = {
        "variant": variant,
        "seed": seed,
        "search_seconds": round(search_seconds, 1),
        "search_cpu_seconds": None if search_cpu_seconds is None else round(search_cpu_seconds, 1),
        "genotype": genotype_file,
        "nb201_arch": arch,
    }
    for dataset, field in zip(nb201.DATASETS, DATASET_FIELDS, strict=True):
        row[field] = record.accuracy(dataset)
    row["nb201_cifar10_rank"] = table.rank(arch, "cifar10")
    row["parameter_free_edges"] = parameter_free_edges(arch)
    return row


RESULT_FIELDS = [
    "variant",
    "seed",
    "search_seconds",
    "search_cpu_seconds",
    "genotype",
    "nb201_arch",
    *DATASET_FIELDS,
    "nb201_cifar10_rank",
    "parameter_free_edges",
]
SUMMARY_FIELDS = [
    "variant",
    "n",
    *(f"{f}_{s}" for f in DATASET_FIELDS for s in ("mean", "std")),
    "search_seconds",
    "search_cpu_seconds",
    "parameter_free_edges",
    "random_k",
    "best_of_k_cifar10",
]


def summarize_lookups(
    rows: list[dict], order: list[str], cell_train_seconds: float | None = None
) -> list[dict]:
    """Per variant (in ``order``): n, mean ± sample std of each looked-up accuracy (%; no std for
    one seed), mean search seconds (wall and CPU) and parameter-free edges, and with
    ``cell_train_seconds`` (CPU seconds) the random-search baseline the search's time buys:
    K = search CPU seconds / one cell's training, and the expected best CIFAR-10 accuracy of K
    uniform cells (chosen by that accuracy: an oracle, so an upper bound for random search)."""
    from factorspace.study.results import sample_std

    table, out = nb201.load_table(), []
    for variant in order:
        mine = [r for r in rows if r["variant"] == variant]
        if not mine:
            continue
        row: dict = {"variant": variant, "n": len(mine)}
        for field in DATASET_FIELDS:
            values = [r[field] for r in mine]
            std = sample_std(values)  # the table's accuracies have 4 decimals
            row[f"{field}_mean"] = round(statistics.fmean(values), 4)
            row[f"{field}_std"] = None if std is None else round(std, 4)
        row["search_seconds"] = round(statistics.fmean(r["search_seconds"] for r in mine), 1)
        cpu = [r["search_cpu_seconds"] for r in mine if r.get("search_cpu_seconds") is not None]
        row["search_cpu_seconds"] = round(statistics.fmean(cpu), 1) if cpu else None
        row["parameter_free_edges"] = round(
            statistics.fmean(r["parameter_free_edges"] for r in mine), 2
        )
        row["random_k"] = row["best_of_k_cifar10"] = None
        if cell_train_seconds and cpu:  # CPU time against CPU time: the load cancels out
            k = max(1, round(row["search_cpu_seconds"] / cell_train_seconds))
            row["random_k"] = k
            row["best_of_k_cifar10"] = round(table.best_of_random(k, "cifar10"), 4)
        out.append(row)
    return out


def random_baseline() -> dict:
    """A uniformly drawn cell's accuracy on each data set (mean, std, percentiles) and the best
    cell's: the table's own baselines, for summary.json and the plot."""
    table = nb201.load_table()
    out = {}
    for dataset, field in zip(nb201.DATASETS, DATASET_FIELDS, strict=True):
        r = table.random_cells(dataset)
        out[field] = {
            "mean": r.mean,
            "std": r.std,
            "percentiles": {str(p): v for p, v in r.percentiles.items()},
            "best": table.best(dataset).accuracy(dataset),
        }
    return out


def search_curves(study, out: Path) -> dict[str, dict[int, list[tuple[int, float]]]]:
    """variant -> seed -> (epoch, CIFAR-10 accuracy %) of the cell each search derived after
    every epoch (its ``metrics.jsonl``), for the seeds whose search has metrics."""
    import json

    from factorspace.run.rundir import RunDir
    from factorspace.study.cell import search_dir

    curves: dict[str, dict[int, list[tuple[int, float]]]] = {}
    for variant in study.variants:
        curves[variant] = {}
        for seed in study.seeds:
            path = RunDir(search_dir(study, out, variant, seed)).metrics_jsonl
            if not path.is_file():
                continue
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            points = [(r["epoch"], r["nb201_cifar10"]) for r in rows if "nb201_cifar10" in r]
            if points:
                curves[variant][seed] = points
    return curves
