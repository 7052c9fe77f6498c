"""`factorspace study`: run a study file's grid of variants x seeds, resumably, and summarize it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from factorspace.cli.app import EXIT_CODES, app, out, reports_errors
from factorspace.cli.search import DeviceOpt, ThreadsOpt
from factorspace.errors import FactorspaceError


@app.command(epilog=EXIT_CODES)
@reports_errors
def study(
    study_file: Annotated[Path, typer.Argument(help="a study YAML file (recipes/studies/)")],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="the study's directory (default: runs/studies/NAME)"),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="cells at once, each in its own process with its cores")
    ] = 1,
    device: DeviceOpt = "auto",
    launcher: Annotated[
        Literal["local", "submitit"],
        typer.Option(help="local processes, or submitit (one SLURM job per cell)"),
    ] = "local",
    submitit_option: Annotated[
        list[str] | None,
        typer.Option(
            "--submitit-option",
            metavar="KEY=VALUE",
            help="KEY=VALUE (repeatable) for submitit's update_parameters (e.g. slurm_partition=gpu, "
            "gpus_per_node=1, timeout_min=1440); cluster=local runs the jobs here",
        ),
    ] = None,
    threads: ThreadsOpt = None,
) -> None:
    """Search, derive, re-train and evaluate every variant and seed; the same command resumes.

    Writes results.csv (one row per cell), summary.csv and summary.json (mean ± std per variant,
    the comparison's significance) and summary.png/.pdf in the study's directory. With
    `evaluate: nb201` each derived cell is looked up in NAS-Bench-201's table instead of
    re-trained, and curves.png/.pdf draws each search's cell accuracy per epoch.
    """
    import yaml

    from factorspace.run.threads import use_threads
    from factorspace.study import run_study
    from factorspace.study.load import load_study
    from factorspace.study.runner import collect_rows
    from factorspace.viz.study import plot_study

    options = {}
    for item in submitit_option or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise FactorspaceError(f"--submitit-option {item!r}: expected KEY=VALUE")
        options[key] = yaml.safe_load(value)
    spec = load_study(study_file)
    directory = out_dir or Path("runs") / "studies" / spec.name
    summary = run_study(
        study_file,
        directory,
        workers=workers,
        device=device,
        launcher=launcher,
        submitit_options=options,
        print_line=lambda line: out.print(line, soft_wrap=True),
        console=out if workers == 1 and launcher == "local" else None,
        threads=use_threads(threads),
    )
    rows = collect_rows(spec, directory)
    if spec.evaluate == "nb201":
        from factorspace.study.lookup import search_curves
        from factorspace.viz.nb201_study import plot_nb201_study

        curves = search_curves(spec, directory)
        plots = plot_nb201_study(summary, rows, curves, directory, title=spec.name)
    else:
        plots = plot_study(summary["variants"], rows, directory / "summary", title=spec.name)
    for s in summary["variants"]:
        out.print(variant_line(s), soft_wrap=True)
    if "comparison" in summary:
        out.print(summary["comparison"]["statement"], soft_wrap=True)
    out.print(
        f"wrote {directory / 'results.csv'}, summary.csv, summary.json, "
        f"{', '.join(p.name for p in plots)}",
        soft_wrap=True,
    )


def variant_line(s: dict) -> str:
    """One variant of a study's summary: its re-trained test error, or its looked-up accuracies."""
    from factorspace.evidence.nb201 import DATASET_NAMES
    from factorspace.retrain.multiseed import mean_std

    if "nb201_cifar10_mean" not in s:
        return (
            f"{s['variant']}: test error {mean_std(s['test_error_mean'], s['test_error_std'])} "
            f"(n = {s['n']}), {s['params']:,} params, {s['macs'] / 1e6:.1f}M MACs, search "
            f"{s['search_seconds']:.0f} s, re-train {s['train_seconds']:.0f} s"
        )
    shown = []
    for dataset, name in DATASET_NAMES.items():  # the summary's accuracies are in %
        mean, std = s[f"nb201_{dataset}_mean"], s[f"nb201_{dataset}_std"]
        shown.append(f"{name} {mean_std(mean / 100, None if std is None else std / 100)}")
    random = (
        f"; best of K = {s['random_k']} random cells {s['best_of_k_cifar10']:.2f} %"
        if s.get("random_k")
        else ""
    )
    return (
        f"{s['variant']}: NB201 {', '.join(shown)} (n = {s['n']}), search "
        f"{s['search_seconds']:.0f} s{random}"
    )
