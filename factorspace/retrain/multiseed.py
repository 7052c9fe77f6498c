"""Re-train every search of a multi-seed parent (``factorspace search --seeds``) and summarise.

The paper reports CIFAR-10 test error as a mean over three searches (2.38 ± 0.06 %): one
re-training per searched genotype, then the mean and the sample standard deviation.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from rich.console import Console

from factorspace.errors import FactorspaceError
from factorspace.run.atomic import atomic_write_text, write_json
from factorspace.run.rundir import RunDir, csv_text, seed_runs
from factorspace.schema import TrainRecipe


def is_multiseed_parent(path: str | Path) -> bool:
    """A directory of search runs with the summary that ``search --seeds`` writes."""
    path = Path(path)
    return path.is_dir() and RunDir(path).summary_json.is_file() and bool(seed_runs(path))


def train_seeds(
    parent: str | Path,
    recipe: TrainRecipe,
    *,
    out: str | Path,
    device: str = "auto",
    resume: bool = False,
    console: Console | None = None,
) -> dict:
    """Re-train each run's genotype into ``out/<run name>`` and write ``out/summary.json``/``.csv``:
    each run's test top-1/top-5 and their mean ± sample standard deviation."""
    from factorspace.retrain.train import train

    parent, out = Path(parent), RunDir(out)
    runs = seed_runs(parent)
    if not runs:
        raise FactorspaceError(f"{parent}: no search run with a final genotype under it")
    out.root.mkdir(parents=True, exist_ok=True)
    rows = []
    for run in runs:
        genotype = RunDir(run).genotype
        if console is not None:
            console.print(f"re-training {run.name} ({genotype})")
        result = train(
            genotype, recipe, out=out.root / run.name, device=device, resume=resume, console=console
        )
        rows.append({"run": run.name, "test_acc": result.test_acc, "test_top5": result.test_top5})
    summary = {"parent": str(parent), "runs": rows, **_mean_std(rows, "test_acc")}
    write_json(out.summary_json, summary)
    atomic_write_text(out.summary_csv, csv_text(rows))
    return summary


def _mean_std(rows: list[dict], key: str) -> dict:
    values = [r[key] for r in rows]
    std = statistics.stdev(values) if len(values) > 1 else None  # undefined for one run
    return {f"{key}_mean": statistics.fmean(values), f"{key}_std": std}


def mean_std(mean: float, std: float | None) -> str:
    """``92.10 ± 0.35 %`` from fractions; ``92.10 %`` where the std is undefined (one value)."""
    return f"{100 * mean:.2f} %" if std is None else f"{100 * mean:.2f} ± {100 * std:.2f} %"


def format_summary(summary: dict) -> str:
    """'test top-1 92.10 ± 0.35 % over 3 runs' (the paper's style, in accuracy; no ± for one)."""
    runs = len(summary["runs"])
    shown = mean_std(summary["test_acc_mean"], summary["test_acc_std"])
    return f"test top-1 {shown} over {runs} run{'s' if runs != 1 else ''}"


__all__ = ["format_summary", "is_multiseed_parent", "train_seeds"]
