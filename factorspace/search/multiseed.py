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

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from factorspace.derive import skip_count
from factorspace.errors import FactorspaceError
from factorspace.genotype import CELL_TYPES, Genotype, load_genotype
from factorspace.run.atomic import atomic_write_text, write_json
from factorspace.run.rundir import MetricsLog, RunDir, csv_text, prepare_run_dir
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
) -> Path:
    """Search ``recipe`` once per seed and summarise the runs; returns the parent directory.

    Args:
        recipe: the recipe; each run overrides only ``search.seed``.
        seeds: distinct integers.
        out: the parent directory (default: ``runs/NAME-TIME-seeds``); must be new or empty.
        device: as for :func:`~factorspace.search.search`.
        resume: continue in ``out``: finished seeds are kept, interrupted ones resumed, missing
            ones run.
        console: where progress goes (``None``: silent).

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
    for seed in seeds:
        run = parent.seed_run(seed)
        if resume and run.status() in FINISHED:
            if console is not None:
                console.print(f"seed {seed}: finished already ({run.root})")
            continue
        if console is not None:
            console.rule(f"seed {seed}")
        again = resume and run.record.exists()
        search(recipe, out=run.root, device=device, seed=seed, resume=again, console=console)
    summary = summarize(parent.root, recipe, seeds)
    write_json(parent.summary_json, summary)
    atomic_write_text(parent.summary_csv, summary_csv(summary))
    return parent.root


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
    }


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
        for cell_type in CELL_TYPES:
            ranks: Counter = Counter()
            for edge in getattr(genotype, cell_type).edges:
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
                "normal": genotype_line(genotype, "normal"),
                "reduce": genotype_line(genotype, "reduce"),
            }
        )
    return csv_text(rows)
