"""`factorspace report`: a search run's plots and one HTML page about it."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from factorspace.cli.app import app, err, labelled, out, reports_errors


@app.command()
@reports_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="a search run directory")],
) -> None:
    """Draw a run's plots into RUN_DIR/plots and write RUN_DIR/report.html."""
    from factorspace.viz.render import GraphvizMissingWarning
    from factorspace.viz.report import write_report

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GraphvizMissingWarning)
        path = write_report(run_dir)
    for w in caught:
        if issubclass(w.category, GraphvizMissingWarning):
            err.print(labelled("warning", "yellow", w.message), soft_wrap=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    out.print(f"wrote {path}", highlight=False, soft_wrap=True)
