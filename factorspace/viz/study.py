"""A study's figure: each variant's mean test error with its seeds' standard deviation as an error
bar, every seed as a dot beside it, and the re-trained network's parameters under its name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from factorspace.viz.figures import FORMATS, STYLE, save_figure
from factorspace.viz.palette import CHOICE_COLORS


def study_figure(summary: Sequence[dict], rows: Sequence[dict], title: str = "") -> Figure:
    """``summary``'s mean test error (%) ± std per variant, ``rows``' seeds as dots beside."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(max(4.0, 0.9 * len(summary) + 1.5), 3.4), layout="constrained")
        ax = fig.add_subplot()
        for i, s in enumerate(summary):
            color = CHOICE_COLORS[i % len(CHOICE_COLORS)]
            seeds = [100 * r["test_error"] for r in rows if r["variant"] == s["variant"]]
            ax.plot([i + 0.12] * len(seeds), seeds, "o", color=color, alpha=0.5, markersize=3)
            ax.errorbar(
                i,
                100 * s["test_error_mean"],
                yerr=100 * (s["test_error_std"] or 0),  # None: one seed
                fmt="o",
                color=color,
                capsize=4,
                markersize=6,
            )
        ax.set_xlim(-0.5, len(summary) - 0.5)
        ax.set_xticks(
            range(len(summary)),
            [f"{s['variant']}\n{_count(s['params'])} params, n={s['n']}" for s in summary],
            rotation=30 if len(summary) > 5 else 0,
            ha="right" if len(summary) > 5 else "center",
        )
        ax.set_ylabel("test error (%), mean ± std over seeds")
        if title:
            ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    return fig


def _count(n: float) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def plot_study(
    summary: Sequence[dict],
    rows: Sequence[dict],
    stem: Path,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Write :func:`study_figure` as ``stem.png`` and ``stem.pdf``; returns the paths."""
    return save_figure(study_figure(summary, rows, title), Path(stem), formats)
