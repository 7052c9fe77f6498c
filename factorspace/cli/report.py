"""`factorspace report`: a search run's plots and one HTML page about it (a `--seeds` parent:
one per seed and a summary page across them)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from factorspace.cli.app import app, err, labelled, out, reports_errors


@app.command()
@reports_errors
def report(
    run_dir: Annotated[
        Path, typer.Argument(help="a search run directory, or a `search --seeds` parent")
    ],
    pdf: Annotated[
        bool,
        typer.Option(
            "--pdf",
            help="also write every figure as a vector PDF (for a paper), linked from the page; "
            "it takes most of the time",
        ),
    ] = False,
) -> None:
    """Draw a run's plots into RUN_DIR/plots and write RUN_DIR/report.html.

    Given a `search --seeds` parent, report every seed run (PARENT/seed_N/report.html) and
    write PARENT/report.html: a summary across the seeds linking to them.
    """
    from factorspace.run.rundir import RunDir
    from factorspace.viz.render import GraphvizMissingWarning
    from factorspace.viz.report import write_report

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GraphvizMissingWarning)
        path = write_report(run_dir, formats=("png", "pdf") if pdf else ("png",))
    for w in caught:
        if issubclass(w.category, GraphvizMissingWarning):
            err.print(labelled("warning", "yellow", w.message), soft_wrap=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    paths = RunDir(run_dir)
    if paths.is_seed_parent():
        for seed in paths.seeds():
            if paths.seed_run(seed).report.is_file():
                out.print(f"wrote {paths.seed_run(seed).report}", highlight=False, soft_wrap=True)
    out.print(f"wrote {path}", highlight=False, soft_wrap=True)
