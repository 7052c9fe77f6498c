"""A run's figures, written into its directory: weights, their trajectories, metrics, seeds.

Each ``plot_*`` function reads a run directory (see :mod:`factorspace.search.loop`) and writes
``RUN_DIR/plots/NAME.png`` and ``NAME.pdf`` (or the ``formats`` asked for), atomically, returning
the paths written; :func:`heatmap_stem` and :func:`trajectory_stem` say which ``NAME`` a factor's
figures get. The figures are built by :mod:`factorspace.viz.figures` from what
:mod:`factorspace.viz.records` reads; both modules' public names are importable from here too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from factorspace.errors import FactorspaceError
from factorspace.run.rundir import RunDir
from factorspace.viz.figures import (  # noqa: F401  (re-exported: built here before the split)
    DPI,
    FORMATS,
    STYLE,
    choice_colors,
    edge_label,
    edge_trajectories_figure,
    frequency_figure,
    heatmap_figure,
    metrics_figure,
    save_figure,
    trajectory_figure,
)
from factorspace.viz.records import (  # noqa: F401  (re-exported)
    kept_choices,
    kept_edges,
    load_arch_records,
    load_metrics,
    record_cells,
    run_family,
    seed_frequencies,
    seed_runs,
)

EDGE_WEIGHTS_STEM = "arch_edges"  # PC-DARTS's edge normalisation, per cell type


def slug(name: str) -> str:
    """A factor name as part of a file name: 'kernel size' -> 'kernel_size'."""
    return re.sub(r"[^\w.-]+", "_", name)


def heatmap_stem(factor: str, cell: str) -> str:
    """The name of ``factor``'s final-weights heatmap in ``cell``: ``arch_<factor>_<cell>``."""
    return f"arch_{slug(factor)}_{cell}"


def trajectory_stem(factor: str, cell: str | None = None) -> str:
    """The name of ``factor``'s trajectory figure: ``trajectory_<factor>``, or with ``cell``
    the per-edge panels ``trajectory_<factor>_<cell>_edges``."""
    return f"trajectory_{slug(factor)}" + (f"_{cell}_edges" if cell else "")


def plot_arch_heatmaps(run_dir: Path | str, *, formats: Sequence[str] = FORMATS) -> list[Path]:
    """``plots/arch_<factor>_<cell>.{png,pdf}``: the last epoch's weights of every factor, the
    choice derivation kept on each kept edge outlined and the dropped edges greyed
    (:func:`~factorspace.viz.records.kept_choices`); with edge normalisation (PC-DARTS), also
    ``plots/arch_edges``: each edge's weight per cell type.

    Returns:
        The files written, png before pdf, factor by factor, normal before reduce.
    """
    run_dir = Path(run_dir)
    last = load_arch_records(run_dir)[-1]
    kept = kept_choices(run_dir, last)
    cells, family = record_cells(last), run_family(run_dir)
    written = []
    for factor, names in last["choices"].items():
        for cell in cells:
            fig = heatmap_figure(
                last["weights"][cell][factor],
                last["edges"],
                names,
                title=f"{factor} weights, {cell} cell (epoch {last['epoch']})",
                chosen={row: groups[factor] for row, groups in kept[cell].items()},
                family=family,
            )
            written += save_figure(
                fig, RunDir(run_dir).plots_dir / heatmap_stem(factor, cell), formats
            )
    if "edge_weights" in last:  # PC-DARTS's edge normalisation: each edge against its node's others
        fig = heatmap_figure(
            np.array([last["edge_weights"][cell] for cell in cells]).T,
            last["edges"],
            cells,
            title=f"edge weights (epoch {last['epoch']})",
            outline=False,
            xlabel="cell",
            family=family,
        )
        written += save_figure(fig, RunDir(run_dir).plots_dir / EDGE_WEIGHTS_STEM, formats)
    return written


def plot_arch_trajectories(
    run_dir: Path | str, *, per_edge: bool = False, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """``plots/trajectory_<factor>``: each choice's mean weight per epoch; with ``per_edge``
    also ``plots/trajectory_<factor>_<cell>_edges``, one small panel per edge."""
    run_dir = Path(run_dir)
    records = load_arch_records(run_dir)
    epochs = [r["epoch"] for r in records]
    last = records[-1]
    cells = record_cells(last)
    written = []
    for factor, names in last["choices"].items():
        w = {
            cell: np.array([r["weights"][cell][factor] for r in records], dtype=float)
            for cell in cells
        }
        fig = trajectory_figure(epochs, w, names, title=f"{factor} weights")
        written += save_figure(fig, RunDir(run_dir).plots_dir / trajectory_stem(factor), formats)
        if per_edge:
            for cell in cells:
                fig = edge_trajectories_figure(
                    epochs,
                    w[cell],
                    last["edges"],
                    names,
                    title=f"{factor} weights, {cell} cell",
                    family=run_family(run_dir),
                )
                written += save_figure(
                    fig, RunDir(run_dir).plots_dir / trajectory_stem(factor, cell), formats
                )
    return written


def plot_metrics(run_dir: Path | str, *, formats: Sequence[str] = FORMATS) -> list[Path]:
    """``plots/metrics.{png,pdf}``: loss, accuracy and architecture entropy per epoch."""
    run_dir = Path(run_dir)
    rows = load_metrics(run_dir)
    if not rows:
        raise FactorspaceError(f"{run_dir}: metrics.jsonl has no epochs yet")
    return save_figure(metrics_figure(rows), RunDir(run_dir).plots_dir / "metrics", formats)


def plot_seed_frequencies(
    parent_dir: Path | str, *, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """``PARENT/plots/seed_frequencies.{png,pdf}``: :func:`seed_frequencies` as bar charts."""
    parent_dir = Path(parent_dir)
    counts, choices, runs = seed_frequencies(parent_dir)
    fig = frequency_figure(counts, choices, runs)
    return save_figure(fig, RunDir(parent_dir).plots_dir / "seed_frequencies", formats)
