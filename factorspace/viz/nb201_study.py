"""An NB201 study's figures: the looked-up accuracy of each variant's cells beside the benchmark's
own baselines and the published results, and the accuracy of every search's cell along its epochs.

* ``summary``: one panel per data set (CIFAR-10, CIFAR-100, ImageNet16-120). Each variant's mean
  ± std over seeds with every seed as a dot; at the left, the accuracy of a uniformly drawn cell
  (a box from the 25th to the 75th percentile, whiskers at the 10th and 90th, its mean a
  diamond); a dotted line at the best cell. On CIFAR-10, the published results as dashed lines
  (:data:`factorspace.evidence.nb201_published.PUBLISHED`) and each variant's best of K random
  cells (the K its search's time would buy) as a cross.
* ``curves``: one panel per variant, each seed's line the CIFAR-10 accuracy of the cell derived
  after every epoch (``nb201_cifar10`` in the search's metrics): the curve the field draws to
  show DARTS's collapse, with the random mean and the best cell as lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from factorspace.viz.figures import FORMATS, STYLE, integer_ticks, save_figure
from factorspace.viz.palette import CHOICE_COLORS

DATASETS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16_120": "ImageNet16-120"}
GREY = "#7F7F7F"
Curves = Mapping[str, Mapping[int, Sequence[tuple[int, float]]]]
"""variant -> seed -> (epoch, CIFAR-10 accuracy %) of each epoch's derived cell."""


def nb201_summary_figure(
    variants: Sequence[dict],
    rows: Sequence[dict],
    random_cells: Mapping[str, dict],
    published: Sequence = (),
    title: str = "",
) -> Figure:
    """The study's accuracies per data set beside the random cell, the best cell and
    ``published`` (objects with ``method`` and ``cifar10``), as the module docstring says."""
    handles: dict[str, object] = {}
    with matplotlib.rc_context(STYLE):
        width = max(3.2, 0.55 * len(variants) + 1.6)
        fig = Figure(figsize=(3 * width, 4.4), layout="constrained")
        axes = fig.subplots(1, len(DATASETS))
        for ax, (dataset, name) in zip(axes, DATASETS.items(), strict=True):
            key = f"nb201_{dataset}"
            handles |= _random_box(ax, random_cells[key])
            for i, s in enumerate(variants, start=1):
                color = CHOICE_COLORS[(i - 1) % len(CHOICE_COLORS)]
                seeds = [r[key] for r in rows if r["variant"] == s["variant"]]
                (dots,) = ax.plot([i + 0.15] * len(seeds), seeds, "o", color=color, alpha=0.5,
                                  ms=3)  # fmt: skip
                handles["a seed's cell"] = dots
                std = s[f"{key}_std"] or 0.0  # None: one seed
                ax.errorbar(i, s[f"{key}_mean"], yerr=std, fmt="o", color=color, capsize=4, ms=6)
                if dataset == "cifar10" and s.get("best_of_k_cifar10") is not None:
                    (cross,) = ax.plot(i - 0.15, s["best_of_k_cifar10"], "x", color=GREY, ms=6)
                    handles["best of K random cells (an upper bound)"] = cross
            best = random_cells[key]["best"]
            handles["best cell"] = ax.axhline(best, color="black", ls=":", lw=1)
            if dataset == "cifar10":
                for p, style in zip(published, ("--", "-.", (0, (5, 1, 1, 1, 1, 1))), strict=False):
                    line = ax.axhline(p.cifar10, color=GREY, ls=style, lw=0.9)
                    handles[f"{p.method} published: {p.cifar10:.2f}"] = line
            labels = ["random\ncell"] + [s["variant"].replace("_", "\n", 1) for s in variants]
            ax.set_xticks(range(len(labels)), labels, fontsize=8)
            ax.set_xlim(-0.6, len(variants) + 0.6)
            ax.set_title(f"{name} (best cell {best:.2f})")
            ax.grid(axis="y", alpha=0.3)
        axes[0].set_ylabel("test accuracy of the derived cell (%)")
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=3,
                   frameon=False, fontsize=8)  # fmt: skip
        fig.suptitle((f"{title}: " if title else "") + "mean ± std over seeds, each seed a dot")
    return fig


def _random_box(ax, baseline: Mapping) -> dict[str, object]:
    """The uniformly drawn cell at x = 0: its 10/25/50/75/90th percentiles and its mean."""
    q = {int(k): v for k, v in baseline["percentiles"].items()}
    box = ax.bxp(
        [{"whislo": q[10], "q1": q[25], "med": q[50], "q3": q[75], "whishi": q[90],
          "fliers": [], "label": ""}],
        positions=[0], widths=0.5, showfliers=False, patch_artist=True,
        boxprops={"facecolor": "#E8E8E8", "edgecolor": GREY},
        medianprops={"color": GREY}, whiskerprops={"color": GREY}, capprops={"color": GREY},
    )  # fmt: skip
    (mean,) = ax.plot(0, baseline["mean"], "D", color=GREY, ms=4)
    return {
        "random cell (box 25-75th, whiskers 10-90th percentile)": box["boxes"][0],
        "random cell's mean": mean,
    }


def nb201_curves_figure(curves: Curves, random_mean: float, best: float, title: str = "") -> Figure:
    """CIFAR-10 accuracy of each epoch's derived cell, a line per seed, a panel per variant; one
    legend above the panels, a seed keeping its colour in every panel."""
    names = list(curves)
    seeds = sorted({seed for by_seed in curves.values() for seed in by_seed})
    colors = {seed: CHOICE_COLORS[j % len(CHOICE_COLORS)] for j, seed in enumerate(seeds)}
    columns = min(3, max(1, len(names)))
    panel_rows = max(1, math.ceil(len(names) / columns))
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(3.6 * columns, 2.8 * panel_rows + 0.7), layout="constrained")
        axes = fig.subplots(panel_rows, columns, squeeze=False, sharex=True, sharey=True)
        handles = {}
        for k, ax in enumerate(axes.flat):
            if k >= len(names):
                ax.set_visible(False)
                continue
            for seed, points in sorted(curves[names[k]].items()):
                (handles[f"seed {seed}"],) = ax.plot(
                    [e for e, _ in points], [a for _, a in points], color=colors[seed], lw=1.2
                )
            handles[f"random cell's mean {random_mean:.2f}"] = ax.axhline(
                random_mean, color=GREY, ls="--", lw=0.8
            )
            handles[f"best cell {best:.2f}"] = ax.axhline(best, color="black", ls=":", lw=0.8)
            ax.set_title(names[k])
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(integer_ticks())
        # seeds first (in order), then the two reference lines
        order = [f"seed {seed}" for seed in seeds if f"seed {seed}" in handles]
        order += [label for label in handles if not label.startswith("seed ")]
        # the title heads the legend: a suptitle and an outside legend would overlap
        heading = (f"{title}: " if title else "") + "the cell derived after each epoch"
        fig.legend([handles[label] for label in order], order, loc="outside upper center",
                   ncol=len(order), frameon=False, title=heading)  # fmt: skip
        fig.supxlabel("epoch (the cell derived after it)")
        fig.supylabel("NB201 CIFAR-10 test accuracy (%)")
    return fig


def plot_nb201_study(
    summary: Mapping,
    rows: Sequence[dict],
    curves: Curves,
    directory: Path,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """``summary.png/.pdf`` and ``curves.png/.pdf`` in ``directory``; returns the paths.

    ``summary`` is an nb201 study's summary.json (its ``variants`` and ``random_cells``).
    """
    from factorspace.evidence.nb201_published import PUBLISHED

    random_cells = summary["random_cells"]
    paths = save_figure(
        nb201_summary_figure(summary["variants"], rows, random_cells, PUBLISHED, title),
        Path(directory) / "summary",
        formats,
    )
    c10 = random_cells["nb201_cifar10"]
    paths += save_figure(
        nb201_curves_figure(curves, c10["mean"], c10["best"], title),
        Path(directory) / "curves",
        formats,
    )
    return paths
