"""``write_report(run_dir)``: one HTML page that says what a search run did and found.

The page, ``RUN_DIR/report.html``, opens from disk with no server: its images are the files in
``RUN_DIR/plots/`` (the :mod:`factorspace.viz.plots` figures and the cells drawn by
:func:`~factorspace.viz.render.render_genotype`), referred to by relative paths, so the run directory
can be copied or archived whole. It holds the overview (status, time, space size), the final
genotype as tables and drawings, the architecture weights, the metrics and the environment, and
the resolved recipe: the sections of :mod:`factorspace.viz.sections`, in the document of
:mod:`factorspace.viz.page`.

Given a ``search --seeds`` parent, it writes each seed run's page and ``PARENT/report.html``: a
summary across the seeds (status, accuracy, mean and spread, skip-connects, genotypes, how often
each choice was kept) linking to each seed's page.
"""

from __future__ import annotations

import json
import statistics
import warnings
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import yaml

from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype, load_genotype
from factorspace.genotype.naming import cell_text
from factorspace.run.atomic import atomic_write_text
from factorspace.run.rundir import RunDir
from factorspace.viz import plots
from factorspace.viz.page import document
from factorspace.viz.records import load_metrics
from factorspace.viz.render import GraphvizMissingWarning, render_genotype
from factorspace.viz.sections import (
    Page,
    environment_section,
    header,
    overview,
    recipe_section,
    section,
    title_of,
)

PAGE_FORMATS = ("png",)  # what the page shows; PDFs (for papers) on request
# Each edge's own trajectories (a dozen panels a figure, the slowest figures to draw) from this
# many recorded epochs on: over one or two, a line per choice says no more than the heatmap.
PER_EDGE_EPOCHS = 3


def write_report(run_dir: Path | str, *, formats: Sequence[str] = PAGE_FORMATS) -> Path:
    """Draw a search run's plots and write ``RUN_DIR/report.html``; returns its path.

    Args:
        run_dir: a search run directory with at least one finished epoch, or a ``search
            --seeds`` parent (:func:`write_seeds_report`).
        formats: the files of each plot: the PNG the page shows, by default only that (a
            report takes a few seconds); with ``"pdf"`` also a vector PDF of each, which the
            page links (``factorspace report --pdf``; they take most of the time).

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
    if RunDir(run_dir).is_seed_parent():
        return write_seeds_report(run_dir, formats=formats)
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
        "trajectories": plots.plot_arch_trajectories(
            run_dir, per_edge=len(records) >= PER_EDGE_EPOCHS, formats=formats
        ),
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
        page.weights_section(records, figures, cell_keep(recipe_text)),
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


def cell_keep(recipe_text: str) -> int | None:
    """How many edges into each node derivation keeps (the recipe's ``space.cell.keep``)."""
    try:
        return int(yaml.safe_load(recipe_text)["space"]["cell"]["keep"])
    except (yaml.YAMLError, KeyError, TypeError, ValueError):
        return None


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


def write_seeds_report(parent: Path | str, *, formats: Sequence[str] = PAGE_FORMATS) -> Path:
    """Write each seed run's page (:func:`write_report`) and ``PARENT/report.html``: a summary
    across the seeds linking to them; returns the summary page's path.

    A seed run without a finished epoch is listed as such, without a page.

    Raises:
        FactorspaceError: when no seed run under ``parent`` has a finished epoch.
    """
    parent, paths = Path(parent), RunDir(parent)
    rows, pages = [], 0
    for seed in paths.seeds():
        run = paths.seed_run(seed)
        try:
            check_run_dir(run.root)
            page = write_report(run.root, formats=formats)
            pages += 1
        except FactorspaceError as e:
            rows.append(seed_row(seed, run, None, str(e)))
            continue
        rows.append(seed_row(seed, run, page, None))
    if not pages:
        raise FactorspaceError(f"{parent}: no seed run under it has a finished epoch yet")
    try:
        frequencies = plots.plot_seed_frequencies(parent, formats=formats)
    except FactorspaceError:  # no seed has finished (genotype.json): nothing to count
        frequencies = []
    page = Page(parent)
    body = [
        f"<header><h1>{escape(f'Seeds report: {parent.resolve().name}')}</h1>"
        f"<p><code>{escape(str(parent.resolve()))}</code> · {len(rows)} seed runs</p></header>",
        section("overview", "Across seeds", seeds_table(parent, rows) + spread(rows)),
        section(
            "genotype",
            "Choices kept across seeds",
            page.figure(frequencies, "how often each choice was kept, over the seeds")
            if frequencies
            else "<p>No seed run has finished (no genotype.json): nothing to count yet.</p>",
        ),
    ]
    path = paths.report
    nav = [("overview", "across seeds"), ("genotype", "choices kept")]
    atomic_write_text(path, document(f"Seeds report: {parent.name}", "\n".join(body), nav=nav))
    return path


def seed_row(seed: int, run: RunDir, page: Path | None, problem: str | None) -> dict[str, Any]:
    """What the summary shows of one seed run."""
    metrics = load_metrics(run.root) if page is not None else []
    genotype = final_genotype(run.root)[0] if page is not None else None
    return {
        "seed": seed,
        "run": run,
        "page": page,
        "problem": problem,
        "status": run.status() or "unknown",
        "epochs": len(metrics),
        "val_acc": metrics[-1].get("val_acc") if metrics else None,
        "best_val_acc": max((r.get("val_acc", 0) for r in metrics), default=None),
        "skips": metrics[-1].get("normal_skip_count") if metrics else None,
        "normal": cell_line(genotype, "normal") if genotype else "",
    }


def seeds_table(parent: Path, rows: list[dict[str, Any]]) -> str:
    """A row per seed run, its seed linking to its page (or saying why it has none)."""
    heads = ("seed", "status", "epochs", "final val acc", "best val acc", "normal skips")
    body = []
    for r in rows:
        seed = escape(str(r["seed"]))
        if r["page"] is not None:
            seed = f'<a href="{escape(r["page"].relative_to(parent).as_posix())}">seed {seed}</a>'
        values = (r["status"], r["epochs"], pct(r["val_acc"]), pct(r["best_val_acc"]))
        values += ("—" if r["skips"] is None else r["skips"],)
        cells = "".join(f"<td>{escape(str(v))}</td>" for v in values)
        note = escape(r["problem"]) if r["problem"] else f"<code>{escape(r['normal'])}</code>"
        body.append(f"<tr><td>{seed}</td>{cells}<td>{note}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in (*heads, "normal cell"))
    return f'<div class="scroll"><table class="data"><tr>{head}</tr>{"".join(body)}</table></div>'


def spread(rows: list[dict[str, Any]]) -> str:
    """Mean ± standard deviation of the final validation accuracy over the seeds that have one."""
    accs = [r["val_acc"] for r in rows if r["val_acc"] is not None]
    if not accs:
        return ""
    mean = 100 * statistics.mean(accs)
    if len(accs) == 1:  # one seed has no standard deviation
        return f"<p>final val accuracy of the one seed: {mean:.2f}%</p>"
    std = 100 * statistics.stdev(accs)
    return (
        f"<p>final val accuracy over {len(accs)} seeds: {mean:.2f}% ± {std:.2f}% "
        "(mean ± standard deviation)</p>"
    )


def cell_line(genotype: Genotype, cell: str) -> str:
    """``c_{k-2}->0 sep_conv_3x3·relu, c_{k-1}->0 skip_connect, ...`` (DARTS's node names)."""
    return cell_text(genotype, cell)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"
