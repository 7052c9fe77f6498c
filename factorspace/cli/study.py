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
    the comparison's significance) and summary.png/.pdf in the study's directory.
    """
    import yaml

    from factorspace.retrain.multiseed import mean_std
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
    plots = plot_study(
        summary["variants"], collect_rows(spec, directory), directory / "summary", title=spec.name
    )
    for s in summary["variants"]:
        out.print(
            f"{s['variant']}: test error {mean_std(s['test_error_mean'], s['test_error_std'])} "
            f"(n = {s['n']}), {s['params']:,} params, "
            f"{s['macs'] / 1e6:.1f}M MACs, search {s['search_seconds']:.0f} s, re-train "
            f"{s['train_seconds']:.0f} s",
            soft_wrap=True,
        )
    if "comparison" in summary:
        out.print(summary["comparison"]["statement"], soft_wrap=True)
    out.print(
        f"wrote {directory / 'results.csv'}, summary.csv, summary.json, "
        f"{', '.join(p.name for p in plots)}",
        soft_wrap=True,
    )
