"""Figures built from plain data: heatmaps, trajectories, metrics and seed frequencies.

Each ``*_figure`` function builds a :class:`~matplotlib.figure.Figure` and saves nothing, so a
notebook or a test can look at it first; :func:`save_figure` writes it. The functions of
:mod:`factorspace.viz.plots` read a run directory and call these.

Figures are built with :class:`~matplotlib.figure.Figure` and the Agg canvas directly: importing
this module does not select a backend or touch pyplot's global state, and style settings apply
only inside :func:`matplotlib.rc_context`.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, MaxNLocator

from factorspace.run.atomic import atomic_write_bytes
from factorspace.viz.palette import (
    ACTIVATION_COLORS,
    CHOICE_COLORS,
    INPUT_NAMES,
    display_name,
    node_name,
)

FORMATS = ("png", "pdf")
DPI = 150
STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.useoffset": False,  # 0.1114, never "1e-6 + 9.9999e-1"
    "pdf.fonttype": 42,  # TrueType in PDFs: text stays text for the journals that check
}
ANNOTATE_MAX_CELLS = 200  # write each weight in its cell up to this many cells
OUTLINE = "#D55E00"  # Okabe-Ito vermillion: stands out on every viridis colour
# An edge the genotype drops: a translucent white veil over its row (its weights stay legible).
DROPPED = {"facecolor": "white", "alpha": 0.6, "edgecolor": "none", "lw": 0}
DROPPED_TEXT = "#8C8C8C"


def edge_label(
    edge: Sequence[int], *, tex: bool = True, bold: bool = False, family: str = "darts"
) -> str:
    """``(0, 2)`` -> ``c_{k-2}→0``, ``(2, 3)`` -> ``0→1``: the cells' node names (as drawn).

    With ``tex`` the inputs are mathtext (``$c_{k-2}$``); ``bold`` makes them bold too (the rest
    of the label is bolded by its font weight). Another ``family``'s nodes keep their numbers
    (NAS-Bench-201: ``0→1``, 0 the input).
    """

    def name(node: int) -> str:
        if family != "darts":
            return str(node)
        if node >= 2 or not tex:
            return node_name(node)
        return f"$\\mathbf{{{INPUT_NAMES[node]}}}$" if bold else f"${INPUT_NAMES[node]}$"

    return f"{name(edge[0])}→{name(edge[1])}"


def heatmap_figure(
    weights: Sequence[Sequence[float]],
    edges: Sequence[Sequence[int]],
    choices: Sequence[str],
    *,
    title: str | None = None,
    annotate: bool | None = None,
    outline: bool = True,
    kept: Collection[int] = (),
    chosen: Mapping[int, int | None] | None = None,
    xlabel: str = "choice",
    family: str = "darts",
) -> Figure:
    """One factor's weights in one cell type: an edges x choices heatmap (the paper's Fig. 1).

    Args:
        weights: per edge, the softmax over ``choices``.
        edges: ``(source, target)`` per row, DARTS numbering (0, 1 = the cell's inputs).
        choices: the column names.
        title: drawn above the heatmap.
        annotate: write each weight in its cell; by default when there are at most
            ``ANNOTATE_MAX_CELLS`` cells.
        outline: outline a choice on each edge: the ``chosen`` one where given, else the
            strongest.
        kept: rows (edges) whose labels are bold: those the derived genotype keeps.
        chosen: what derivation kept: kept row -> the column of the choice it took (None where
            the factor does not apply to the kept operator: no outline). Rows not in it are
            greyed out (edges the genotype drops) and their labels grey; those in it are bold.
        xlabel: the columns' axis label.
        family: the cell family, which names the nodes (:func:`edge_label`).

    Returns:
        A figure with the heatmap's axes first (``fig.axes[0].images[0]`` holds the
        ``len(edges) x len(choices)`` array) and the colour bar's axes second.
    """
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(edges), len(choices)):
        raise ValueError(f"weights are {w.shape}; expected ({len(edges)}, {len(choices)})")
    n_edges, n_choices = w.shape
    if annotate is None:
        annotate = w.size <= ANNOTATE_MAX_CELLS
    col = 0.62 if n_choices <= 12 else 0.3
    with matplotlib.rc_context(STYLE):
        fig = _figure((1.8 + col * n_choices, 1.4 + 0.32 * n_edges))
        ax = fig.add_subplot()
        lo, hi = float(w.min()), float(w.max())
        if hi - lo < 1e-6:  # all equal: centre the one colour
            lo, hi = lo - 0.01, hi + 0.01
        image = ax.imshow(w, cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
        ax.set_xticks(range(n_choices), [display_name(c) for c in choices], rotation=45, ha="right")
        kept = set(chosen) if chosen is not None else set(kept)
        labels = [edge_label(e, bold=k in kept, family=family) for k, e in enumerate(edges)]
        ax.set_yticks(range(n_edges), labels)
        for row, label in enumerate(ax.get_yticklabels()):
            if row in kept:
                label.set_fontweight("bold")
            elif chosen is not None:
                label.set_color(DROPPED_TEXT)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("edge")
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        if title:
            ax.set_title(title)
        dropped = set(range(n_edges)) - kept if chosen is not None else set()
        for row in sorted(dropped):  # greyed, its weights still legible
            ax.add_patch(Rectangle((-0.5, row - 0.5), n_choices, 1, **DROPPED))
        if chosen is not None:
            marks = [(row, col) for row, col in chosen.items() if col is not None]
        else:
            marks = list(enumerate(w.argmax(axis=1)))
        for row, col in marks if outline else []:
            ax.add_patch(
                Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor=OUTLINE, lw=1.8)
            )
        if annotate:
            # enough decimals to tell the weakest from the strongest: 0.11 / 0.112 / 0.1104
            digits = int(np.clip(np.ceil(-np.log10(hi - lo)) + 1, 2, 4))
            for (row, c), value in np.ndenumerate(w):
                dark = image.norm(value) < 0.6  # viridis is dark at its low end
                color = "#444444" if row in dropped else "white" if dark else "black"
                ax.text(
                    c,
                    row,
                    f"{value:.{digits}f}",
                    ha="center",
                    va="center",
                    fontsize=8 if digits == 2 else 7.5,
                    color=color,
                ).set_in_layout(False)  # inside the axes: nothing for the layout to measure
        bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        bar.set_label("softmax weight")
    return fig


def trajectory_figure(
    epochs: Sequence[int],
    weights: dict[str, np.ndarray],
    choices: Sequence[str],
    *,
    title: str | None = None,
) -> Figure:
    """Each choice's weight, averaged over the edges, against the epoch; one panel per cell type.

    Args:
        epochs: the x values.
        weights: cell type -> array ``(epochs, edges, choices)``.
        choices: the line names.
    """
    colors = choice_colors(choices)
    with matplotlib.rc_context(STYLE):
        rows = -(-len(choices) // _legend_columns(choices))  # the legend must fit beside
        fig = _figure(
            (4.2 * len(weights) + 1.8 * _legend_columns(choices), max(3.4, 0.6 + 0.19 * rows))
        )
        axes = fig.subplots(1, len(weights), sharey=True, squeeze=False)[0]
        for ax, (cell, w) in zip(axes, weights.items(), strict=True):
            mean = np.asarray(w).mean(axis=1)
            for c, name in enumerate(choices):
                ax.plot(epochs, mean[:, c], color=colors[name], **_marker(epochs), **_dash(c))
            ax.set_title(f"{cell} cell")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(integer_ticks())
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("weight (mean over edges)")
        _legend(fig, choices, colors)
        if title:
            fig.suptitle(title)
    return fig


def edge_trajectories_figure(
    epochs: Sequence[int],
    weights: np.ndarray,
    edges: Sequence[Sequence[int]],
    choices: Sequence[str],
    *,
    title: str | None = None,
    family: str = "darts",
) -> Figure:
    """Small multiples: one panel per edge, each choice's weight against the epoch.

    Args:
        weights: array ``(epochs, edges, choices)``.
    """
    w = np.asarray(weights)
    colors = choice_colors(choices)
    cols = min(len(edges), 5)
    rows = -(-len(edges) // cols)
    legend = 1.8 * _legend_columns(choices)  # inches right of the panels
    size = (2.3 * cols + legend, 1.9 * rows + 0.6)
    with matplotlib.rc_context(STYLE):
        # Fixed margins, not constrained layout: with a dozen panels measuring every tick label
        # took most of a report's time, and the panels are alike (their ticks are shared).
        fig = Figure(figsize=size)
        fig.subplots_adjust(
            left=0.75 / size[0],
            right=1 - legend / size[0],
            bottom=0.55 / size[1],
            top=1 - (0.6 if title else 0.3) / size[1],
            wspace=0.12,
            hspace=0.45,
        )
        axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
        x_ticks = integer_ticks().tick_values(min(epochs), max(epochs))
        x_ticks = [t for t in x_ticks if min(epochs) <= t <= max(epochs)]
        for k, ax in enumerate(axes):
            if k >= len(edges):
                ax.set_visible(False)
                continue
            for c, name in enumerate(choices):
                ax.plot(
                    epochs, w[:, k, c], lw=1.2, color=colors[name], **_marker(epochs, 2), **_dash(c)
                )
            ax.set_title(edge_label(edges[k], family=family), fontsize=9)
            ax.grid(alpha=0.3)
        axes[0].xaxis.set_major_locator(FixedLocator(x_ticks))  # shared by every panel
        fig.supxlabel("epoch", y=0.02)
        fig.supylabel("weight", x=0.01)
        _legend(fig, choices, colors, loc="upper right")
        if title:
            fig.suptitle(title)
    return fig


NB201_COLUMNS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16_120": "ImageNet16-120"}
"""The metrics an NB201 search records (``nb201_<key>``) and their names in a legend."""


def metrics_figure(rows: Sequence[dict]) -> Figure:
    """Train and validation loss and accuracy against the epoch, each factor's entropy, and
    (a NAS-Bench-201 search) the looked-up test accuracy of each epoch's derived cell."""
    epochs = [r["epoch"] for r in rows]
    entropies = sorted({k for r in rows for k in r if k.startswith("entropy_")})
    lookup = [d for d in NB201_COLUMNS if any(f"nb201_{d}" in r for r in rows)]
    panels = 2 + bool(entropies) + bool(lookup)
    with matplotlib.rc_context(STYLE):
        fig = _figure((4.0 * panels, 3.3))
        axes = fig.subplots(1, panels, squeeze=False)[0]
        for ax, key, label, scale in (
            (axes[0], "loss", "cross-entropy loss", 1),
            (axes[1], "acc", "accuracy (%)", 100),
        ):
            for split, color in (("train", CHOICE_COLORS[0]), ("val", CHOICE_COLORS[1])):
                values = _series(rows, f"{split}_{key}", scale)
                ax.plot(epochs, values, color=color, **_marker(epochs))
            ax.legend(["train", "validation"], frameon=False)
            ax.set_ylabel(label)
        if entropies:
            for k, key in enumerate(entropies):
                values = _series(rows, key)
                axes[2].plot(
                    epochs, values, color=CHOICE_COLORS[k % len(CHOICE_COLORS)], **_marker(epochs)
                )
            axes[2].legend([k.removeprefix("entropy_") for k in entropies], frameon=False)
            axes[2].set_ylabel("mean entropy (1 = uniform)")
            axes[2].set_ylim(0, 1.05)  # normalized: how far the search is from deciding
        if lookup:  # NAS-Bench-201: the trained accuracy of each epoch's cell (cells.nb201)
            for k, dataset in enumerate(lookup):
                values = _series(rows, f"nb201_{dataset}")
                axes[-1].plot(epochs, values, color=CHOICE_COLORS[k], **_marker(epochs))
            axes[-1].legend([NB201_COLUMNS[d] for d in lookup], frameon=False)
            axes[-1].set_ylabel("derived cell's NB201 test accuracy (%)")
        for ax in axes:
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(integer_ticks())
            ax.grid(alpha=0.3)
    return fig


def frequency_figure(
    counts: dict[str, dict[str, Counter]], choices: dict[str, Sequence[str]], runs: int
) -> Figure:
    """How often each choice of each factor was kept, over ``runs`` genotypes: grouped bars.

    Args:
        counts: factor -> cell type -> choice -> number of kept edges with that choice.
        choices: factor -> its choices, in order (zeros are drawn too).
        runs: how many genotypes were counted (for the title).
    """
    factors = list(counts)
    with matplotlib.rc_context(STYLE):
        widest = max(len(choices[f]) for f in factors)
        fig = _figure((max(5.0, 0.55 * widest + 1.5), 2.9 * len(factors) + 0.4))
        axes = fig.subplots(len(factors), 1, squeeze=False)[:, 0]
        for ax, factor in zip(axes, factors, strict=True):
            names = list(choices[factor])
            x = np.arange(len(names))
            for k, cell in enumerate(next(iter(counts.values()))):  # the runs' cell types
                heights = [counts[factor][cell].get(n, 0) for n in names]
                ax.bar(x + (k - 0.5) * 0.4, heights, width=0.4, color=CHOICE_COLORS[k], label=cell)
            ax.set_xticks(x, [display_name(n) for n in names], rotation=45, ha="right")
            ax.set_title(factor)
            ax.set_ylabel("kept edges")
            ax.yaxis.set_major_locator(integer_ticks())
            ax.grid(axis="y", alpha=0.3)
        axes[0].legend(frameon=False)
        fig.suptitle(f"choices kept in the derived genotypes of {runs} runs")
    return fig


def save_figure(fig: Figure, stem: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``stem.png``, ``stem.pdf``... each atomically; returns the paths.

    PNGs are drawn at ``DPI``; PDFs embed their fonts as TrueType (``pdf.fonttype`` 42), which
    journals' checkers accept and Type 3 fonts they often do not.
    """
    canvas = FigureCanvasAgg(fig)
    written = []
    with matplotlib.rc_context(STYLE):
        for fmt in formats:
            buf = io.BytesIO()
            metadata = {"Software": "factorspace"} if fmt == "png" else {"Creator": "factorspace"}
            canvas.print_figure(buf, format=fmt, dpi=DPI, metadata=metadata)
            path = stem.with_name(f"{stem.name}.{fmt}")
            atomic_write_bytes(path, buf.getvalue())
            written.append(path)
    return written


def choice_colors(choices: Sequence[str]) -> dict[str, str]:
    """Activations keep their colours from the cell drawings; other choices get Okabe-Ito/tab20."""
    if all(c in ACTIVATION_COLORS for c in choices):
        return {c: ACTIVATION_COLORS[c] for c in choices}
    if len(choices) <= len(CHOICE_COLORS):
        return dict(zip(choices, CHOICE_COLORS, strict=False))
    tab20 = matplotlib.colormaps["tab20"].colors
    return {c: to_hex(tab20[k % 20]) for k, c in enumerate(choices)}


# --- helpers -----------------------------------------------------------------------------------


def integer_ticks() -> MaxNLocator:
    """Ticks at whole numbers only (epochs, counts), also when the axis spans one value: a
    1-epoch run gets a tick at its epoch, not fractional ones (``min_n_ticks=1``)."""
    return MaxNLocator(integer=True, min_n_ticks=1)


def _marker(epochs: Sequence[int], size: float = 3) -> dict:
    """Dots on the points of a short run (one epoch is a dot, not an invisible line)."""
    return {"marker": "o", "ms": size} if len(epochs) <= 20 else {}


def _dash(k: int) -> dict:
    """A line style that tells apart choices that share a colour (more than 20 of them)."""
    return {"linestyle": ("-", "--", ":", "-.")[(k // 20) % 4]}


def _legend(
    fig: Figure, choices: Sequence[str], colors: dict[str, str], loc: str = "outside right upper"
) -> None:
    handles = [
        Line2D([], [], color=colors[c], marker="o", ms=3, **_dash(k)) for k, c in enumerate(choices)
    ]
    fig.legend(
        handles,
        [display_name(c) for c in choices],
        loc=loc,
        frameon=False,
        ncol=_legend_columns(choices),
    )


def _legend_columns(choices: Sequence[str]) -> int:
    return 1 if len(choices) <= 14 else 2


def _series(rows: Sequence[dict], key: str, scale: float = 1.0) -> list[float]:
    """``key`` of each row (times ``scale``); NaN, drawn as a gap, where a row lacks it."""
    return [float("nan") if r.get(key) is None else r[key] * scale for r in rows]


def _figure(size: tuple[float, float]) -> Figure:
    return Figure(figsize=size, layout="constrained")
