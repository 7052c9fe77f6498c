"""``write_report(run_dir)``: one HTML page that says what a search run did and found.

The page, ``RUN_DIR/report.html``, opens from disk with no server: its images are the files in
``RUN_DIR/plots/`` (the :mod:`factorspace.viz.plots` figures and the cells drawn by
:func:`~factorspace.viz.render.render_genotype`), referred to by relative paths, so the run directory
can be copied or archived whole. It holds the overview (status, time, space size), the final
genotype as tables and drawings, the architecture weights, the metrics and the environment, and
the resolved recipe: the sections of :mod:`factorspace.viz.sections`, in the document of
:mod:`factorspace.viz.page`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype, load_genotype
from factorspace.run.atomic import atomic_write_text
from factorspace.run.rundir import RunDir
from factorspace.viz import plots
from factorspace.viz.page import document
from factorspace.viz.render import GraphvizMissingWarning, render_genotype
from factorspace.viz.sections import (
    Page,
    environment_section,
    header,
    overview,
    recipe_section,
    title_of,
)


def write_report(run_dir: Path | str, *, formats: Sequence[str] = plots.FORMATS) -> Path:
    """Draw a search run's plots and write ``RUN_DIR/report.html``; returns its path.

    Args:
        run_dir: a search run directory with at least one finished epoch.
        formats: the files of each plot; the page shows the PNG and links the others.

    Example:
        >>> write_report("runs/adarts_cifar-20250101-120000")  # doctest: +SKIP
        PosixPath('runs/adarts_cifar-20250101-120000/report.html')

    Raises:
        FactorspaceError: for a directory that is not a search run with at least one epoch
            (no ``metrics.jsonl`` or no ``arch/`` records).
        ValueError: for ``formats`` without ``"png"``.

    Warns:
        GraphvizMissingWarning: when graphviz's ``dot`` is missing; the page then links the cells'
            ``.gv`` sources instead of drawings.
    """
    run_dir = Path(run_dir)
    if "png" not in formats:
        raise ValueError(f"formats must include png, which the page shows; got {list(formats)}")
    check_run_dir(run_dir)
    paths = RunDir(run_dir)
    run = _read_json(paths.record)
    recipe_text = paths.recipe.read_text() if paths.recipe.is_file() else ""
    rows = plots.load_metrics(run_dir)
    if not rows:
        raise FactorspaceError(f"{run_dir}: metrics.jsonl has no epochs yet")
    records = plots.load_arch_records(run_dir)
    genotype, genotype_note = final_genotype(run_dir)

    figures = {
        "heatmaps": plots.plot_arch_heatmaps(run_dir, formats=formats),
        "trajectories": plots.plot_arch_trajectories(run_dir, per_edge=True, formats=formats),
        "metrics": plots.plot_metrics(run_dir, formats=formats),
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GraphvizMissingWarning)
        cells = render_genotype(genotype, paths.plots_dir / "cells.svg", fmt="svg")
    missing_dot = [str(w.message) for w in caught if issubclass(w.category, GraphvizMissingWarning)]

    page = Page(run_dir)
    body = [
        header(run_dir, run, recipe_text),
        overview(run, rows, recipe_text, run_dir),
        page.genotype_section(genotype, genotype_note, cells, missing_dot),
        page.weights_section(records, figures),
        page.metrics_section(rows, figures["metrics"]),
        environment_section(run),
        recipe_section(recipe_text),
    ]
    path = paths.report
    atomic_write_text(path, document(title_of(run_dir, recipe_text), "\n".join(body)))
    if missing_dot:
        warnings.warn(
            f"graphviz's `dot` was not found: {path} links the cells' .gv sources instead of "
            "drawings; install it with `apt-get install graphviz` and run `factorspace report` "
            "again",
            GraphvizMissingWarning,
            stacklevel=2,
        )
    return path


def check_run_dir(run_dir: Path) -> None:
    """Raise one clear message unless ``run_dir`` is a search run with at least one epoch."""
    if not run_dir.is_dir():
        raise FactorspaceError(f"{run_dir}: no such run directory")
    paths = RunDir(run_dir)
    missing = [
        name
        for name, present in (
            ("metrics.jsonl", paths.metrics_jsonl.is_file()),
            ("arch/epoch_NNN.json", bool(paths.arch_records())),
        )
        if not present
    ]
    if missing:
        raise FactorspaceError(
            f"{run_dir}: not a search run directory with a finished epoch: no "
            f"{' and no '.join(missing)} (a search writes them at the end of every epoch)"
        )


def final_genotype(run_dir: Path) -> tuple[Genotype, str | None]:
    """``genotype.json``; for an unfinished run, the last epoch's genotype and a note saying so."""
    paths = RunDir(run_dir)
    if paths.genotype.is_file():
        return load_genotype(paths.genotype), None
    epochs = paths.epoch_genotypes()
    if not epochs:
        raise FactorspaceError(f"{run_dir}: no genotype.json and no genotypes/epoch_NNN.json")
    return load_genotype(epochs[-1]), (
        f"The run has no genotype.json (it did not finish); this is the genotype derived after "
        f"{epochs[-1].stem.replace('_', ' ')}."
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
