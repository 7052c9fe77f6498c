"""Figures of a search run: architecture weights, their trajectories, metrics, seed frequencies.

Each ``plot_*`` function reads a run directory (see :mod:`factorspace.search.loop`) and writes
``RUN_DIR/plots/NAME.png`` and ``NAME.pdf`` (or the ``formats`` asked for), atomically, returning
the paths written. Each ``*_figure`` function builds the :class:`~matplotlib.figure.Figure` from
plain data and saves nothing, so a notebook or a test can look at it first.

Figures are built with :class:`~matplotlib.figure.Figure` and the Agg canvas directly: importing
this module does not select a backend or touch pyplot's global state, and style settings apply
only inside :func:`matplotlib.rc_context`.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from factorspace.errors import FactorspaceError
from factorspace.genotype import CELL_TYPES, Genotype, load_genotype
from factorspace.registry import OPERATORS
from factorspace.run.rundir import atomic_write_bytes
from factorspace.viz.render import ACTIVATION_COLORS, DISPLAY_NAMES

PLOTS = "plots"
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
INPUT_NAMES = ("c_{k-2}", "c_{k-1}")
# Okabe-Ito, then tab20, for choices that are not activations (whose colours match the cells').
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


# --- reading a run -----------------------------------------------------------------------------


def load_arch_records(run_dir: Path | str) -> list[dict]:
    """Every ``arch/epoch_NNN.json`` of a run, in epoch order.

    Raises:
        FactorspaceError: when the run has no ``arch/`` records.
    """
    run_dir = Path(run_dir)
    files = sorted((run_dir / "arch").glob("epoch_*.json"))
    if not files:
        raise FactorspaceError(
            f"{run_dir}: no arch/epoch_NNN.json records; is it a search run directory?"
        )
    return [_read_json(f) for f in files]


def load_metrics(run_dir: Path | str) -> list[dict]:
    """The rows of ``metrics.jsonl`` (one per epoch).

    Raises:
        FactorspaceError: when the run has no metrics.
    """
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise FactorspaceError(f"{Path(run_dir)}: no metrics.jsonl; is it a search run directory?")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                raise FactorspaceError(f"{path}:{n}: not a JSON line ({e})") from None
    return rows


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise FactorspaceError(f"{path}: not JSON ({e})") from None


def edge_label(edge: Sequence[int], *, tex: bool = True, bold: bool = False) -> str:
    """``(0, 2)`` -> ``c_{k-2}→0``, ``(2, 3)`` -> ``0→1``: the cells' node names (as drawn).

    With ``tex`` the inputs are mathtext (``$c_{k-2}$``); ``bold`` makes them bold too (the rest
    of the label is bolded by its font weight).
    """

    def name(node: int) -> str:
        if node >= 2:
            return str(node - 2)
        if not tex:
            return INPUT_NAMES[node]
        return f"$\\mathbf{{{INPUT_NAMES[node]}}}$" if bold else f"${INPUT_NAMES[node]}$"

    return f"{name(edge[0])}→{name(edge[1])}"


# --- figures -----------------------------------------------------------------------------------


def heatmap_figure(
    weights: Sequence[Sequence[float]],
    edges: Sequence[Sequence[int]],
    choices: Sequence[str],
    *,
    title: str | None = None,
    annotate: bool | None = None,
    outline: bool = True,
    kept: Collection[int] = (),
    xlabel: str = "choice",
) -> Figure:
    """One factor's weights in one cell type: an edges x choices heatmap (the paper's Fig. 1).

    Args:
        weights: per edge, the softmax over ``choices``.
        edges: ``(source, target)`` per row, DARTS numbering (0, 1 = the cell's inputs).
        choices: the column names.
        title: drawn above the heatmap.
        annotate: write each weight in its cell; by default when there are at most
            ``ANNOTATE_MAX_CELLS`` cells.
        outline: outline the strongest choice of each edge.
        kept: rows (edges) whose labels are bold: those the derived genotype keeps.
        xlabel: the columns' axis label.

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
        ax.set_xticks(range(n_choices), [_display(c) for c in choices], rotation=45, ha="right")
        ax.set_yticks(range(n_edges), [edge_label(e, bold=k in kept) for k, e in enumerate(edges)])
        for row, label in enumerate(ax.get_yticklabels()):
            if row in kept:
                label.set_fontweight("bold")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("edge")
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        if title:
            ax.set_title(title)
        for row, best in enumerate(w.argmax(axis=1) if outline else []):
            ax.add_patch(
                Rectangle((best - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="#D55E00", lw=1.6)
            )
        if annotate:
            # enough decimals to tell the weakest from the strongest: 0.11 / 0.112 / 0.1104
            digits = int(np.clip(np.ceil(-np.log10(hi - lo)) + 1, 2, 4))
            for (row, c), value in np.ndenumerate(w):
                dark = image.norm(value) < 0.6  # viridis is dark at its low end
                ax.text(
                    c,
                    row,
                    f"{value:.{digits}f}",
                    ha="center",
                    va="center",
                    fontsize=8 if digits == 2 else 7.5,
                    color="white" if dark else "black",
                )
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
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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
) -> Figure:
    """Small multiples: one panel per edge, each choice's weight against the epoch.

    Args:
        weights: array ``(epochs, edges, choices)``.
    """
    w = np.asarray(weights)
    colors = choice_colors(choices)
    cols = min(len(edges), 5)
    rows = -(-len(edges) // cols)
    with matplotlib.rc_context(STYLE):
        fig = _figure((2.3 * cols + 1.8, 1.9 * rows + 0.6))
        axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
        for k, ax in enumerate(axes):
            if k >= len(edges):
                ax.set_visible(False)
                continue
            for c, name in enumerate(choices):
                ax.plot(
                    epochs, w[:, k, c], lw=1.2, color=colors[name], **_marker(epochs, 2), **_dash(c)
                )
            ax.set_title(edge_label(edges[k]), fontsize=9)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
        fig.supxlabel("epoch")
        fig.supylabel("weight")
        _legend(fig, choices, colors)
        if title:
            fig.suptitle(title)
    return fig


def metrics_figure(rows: Sequence[dict]) -> Figure:
    """Train and validation loss and accuracy against the epoch, and each factor's entropy."""
    epochs = [r["epoch"] for r in rows]
    entropies = sorted({k for r in rows for k in r if k.startswith("entropy_")})
    panels = 3 if entropies else 2
    with matplotlib.rc_context(STYLE):
        fig = _figure((4.0 * panels, 3.3))
        axes = fig.subplots(1, panels, squeeze=False)[0]
        for ax, key, label, scale in (
            (axes[0], "loss", "cross-entropy loss", 1),
            (axes[1], "acc", "accuracy (%)", 100),
        ):
            for split, color in (("train", PALETTE[0]), ("val", PALETTE[1])):
                values = _series(rows, f"{split}_{key}", scale)
                ax.plot(epochs, values, color=color, **_marker(epochs))
            ax.legend(["train", "validation"], frameon=False)
            ax.set_ylabel(label)
        if entropies:
            for k, key in enumerate(entropies):
                values = _series(rows, key)
                axes[2].plot(epochs, values, color=PALETTE[k % len(PALETTE)], **_marker(epochs))
            axes[2].legend([k.removeprefix("entropy_") for k in entropies], frameon=False)
            axes[2].set_ylabel("mean entropy (1 = uniform)")
            axes[2].set_ylim(0, 1.05)  # normalized: how far the search is from deciding
        for ax in axes:
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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
            for k, cell in enumerate(CELL_TYPES):
                heights = [counts[factor][cell].get(n, 0) for n in names]
                ax.bar(x + (k - 0.5) * 0.4, heights, width=0.4, color=PALETTE[k], label=cell)
            ax.set_xticks(x, [_display(n) for n in names], rotation=45, ha="right")
            ax.set_title(factor)
            ax.set_ylabel("kept edges")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(axis="y", alpha=0.3)
        axes[0].legend(frameon=False)
        fig.suptitle(f"choices kept in the derived genotypes of {runs} runs")
    return fig


# --- writing a run's plots ---------------------------------------------------------------------


def plot_arch_heatmaps(run_dir: Path | str, *, formats: Sequence[str] = FORMATS) -> list[Path]:
    """``plots/arch_<factor>_<cell>.{png,pdf}``: the last epoch's weights of every factor; with
    edge normalisation (PC-DARTS), also ``plots/arch_edges``: each edge's weight per cell type.

    Returns:
        The files written, png before pdf, factor by factor, normal before reduce.
    """
    run_dir = Path(run_dir)
    last = load_arch_records(run_dir)[-1]
    kept = kept_edges(run_dir, last)
    written = []
    for factor, names in last["choices"].items():
        for cell in CELL_TYPES:
            fig = heatmap_figure(
                last["weights"][cell][factor],
                last["edges"],
                names,
                title=f"{factor} weights, {cell} cell (epoch {last['epoch']})",
                kept=kept[cell],
            )
            written += save_figure(fig, run_dir / PLOTS / f"arch_{_slug(factor)}_{cell}", formats)
    if "edge_weights" in last:  # PC-DARTS's edge normalisation: each edge against its node's others
        fig = heatmap_figure(
            np.array([last["edge_weights"][cell] for cell in CELL_TYPES]).T,
            last["edges"],
            CELL_TYPES,
            title=f"edge weights (epoch {last['epoch']})",
            outline=False,
            xlabel="cell",
        )
        written += save_figure(fig, run_dir / PLOTS / "arch_edges", formats)
    return written


def kept_edges(run_dir: Path, record: dict) -> dict[str, set[int]]:
    """Cell type -> the rows of ``record["edges"]`` that the genotype of its epoch keeps
    (``genotypes/epoch_NNN.json``, else ``genotype.json``; none if neither exists)."""
    path = run_dir / "genotypes" / f"epoch_{record['epoch']:03d}.json"
    path = path if path.is_file() else run_dir / "genotype.json"
    if not path.is_file():
        return {cell: set() for cell in CELL_TYPES}
    genotype = load_genotype(path)
    rows = {tuple(e): k for k, e in enumerate(record["edges"])}
    return {
        cell: {rows[(e.source, e.target)] for e in getattr(genotype, cell).edges}
        for cell in CELL_TYPES
    }


def plot_arch_trajectories(
    run_dir: Path | str, *, per_edge: bool = False, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """``plots/trajectory_<factor>``: each choice's mean weight per epoch; with ``per_edge``
    also ``plots/trajectory_<factor>_<cell>_edges``, one small panel per edge."""
    run_dir = Path(run_dir)
    records = load_arch_records(run_dir)
    epochs = [r["epoch"] for r in records]
    last = records[-1]
    written = []
    for factor, names in last["choices"].items():
        w = {
            cell: np.array([r["weights"][cell][factor] for r in records], dtype=float)
            for cell in CELL_TYPES
        }
        fig = trajectory_figure(epochs, w, names, title=f"{factor} weights")
        written += save_figure(fig, run_dir / PLOTS / f"trajectory_{_slug(factor)}", formats)
        if per_edge:
            for cell in CELL_TYPES:
                fig = edge_trajectories_figure(
                    epochs, w[cell], last["edges"], names, title=f"{factor} weights, {cell} cell"
                )
                written += save_figure(
                    fig, run_dir / PLOTS / f"trajectory_{_slug(factor)}_{cell}_edges", formats
                )
    return written


def plot_metrics(run_dir: Path | str, *, formats: Sequence[str] = FORMATS) -> list[Path]:
    """``plots/metrics.{png,pdf}``: loss, accuracy and architecture entropy per epoch."""
    run_dir = Path(run_dir)
    rows = load_metrics(run_dir)
    if not rows:
        raise FactorspaceError(f"{run_dir}: metrics.jsonl has no epochs yet")
    return save_figure(metrics_figure(rows), run_dir / PLOTS / "metrics", formats)


def seed_runs(parent: Path | str) -> list[Path]:
    """The run directories under a multi-seed parent (those with a genotype), in natural order."""
    parent = Path(parent)
    runs = [d for d in parent.iterdir() if d.is_dir() and (d / "genotype.json").is_file()]
    return sorted(
        runs, key=lambda d: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", d.name)]
    )


def seed_frequencies(parent: Path | str) -> tuple[dict[str, dict[str, Counter]], dict, int]:
    """Count, over the runs under ``parent``, how often each choice of each factor was kept.

    Returns:
        ``(counts, choices, runs)``: factor -> cell type -> Counter of choices over the kept
        edges; factor -> its choices in recipe order, less the zero operator (``none``, never
        kept); the number of runs counted. Factors with one choice are left out.

    Raises:
        FactorspaceError: when ``parent`` holds no run directory with a genotype.json.
    """
    parent = Path(parent)
    runs = seed_runs(parent) if parent.is_dir() else []
    if not runs:
        raise FactorspaceError(
            f"{parent}: no run directories with a genotype.json under it (expected seed_0/, ...)"
        )
    factors = yaml.safe_load((runs[0] / "recipe.yaml").read_text())["space"]["factors"]
    choices = {
        f["name"]: [str(c) for c in f["choices"] if not (f["role"] == "operator" and _is_zero(c))]
        for f in factors
        if len(f["choices"]) > 1
    }
    counts = {f: {cell: Counter() for cell in CELL_TYPES} for f in choices}
    for run in runs:
        genotype = load_genotype(run / "genotype.json")
        for factor in factors:
            if factor["name"] in counts:
                _count(genotype, factor, counts[factor["name"]])
    return counts, choices, len(runs)


def plot_seed_frequencies(
    parent_dir: Path | str, *, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """``PARENT/plots/seed_frequencies.{png,pdf}``: :func:`seed_frequencies` as bar charts."""
    parent_dir = Path(parent_dir)
    counts, choices, runs = seed_frequencies(parent_dir)
    fig = frequency_figure(counts, choices, runs)
    return save_figure(fig, parent_dir / PLOTS / "seed_frequencies", formats)


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


# --- helpers -----------------------------------------------------------------------------------


def choice_colors(choices: Sequence[str]) -> dict[str, str]:
    """Activations keep their colours from the cell drawings; other choices get Okabe-Ito/tab20."""
    if all(c in ACTIVATION_COLORS for c in choices):
        return {c: ACTIVATION_COLORS[c] for c in choices}
    if len(choices) <= len(PALETTE):
        return dict(zip(choices, PALETTE, strict=False))
    tab20 = matplotlib.colormaps["tab20"].colors
    return {c: to_hex(tab20[k % 20]) for k, c in enumerate(choices)}


def _marker(epochs: Sequence[int], size: float = 3) -> dict:
    """Dots on the points of a short run (one epoch is a dot, not an invisible line)."""
    return {"marker": "o", "ms": size} if len(epochs) <= 20 else {}


def _dash(k: int) -> dict:
    """A line style that tells apart choices that share a colour (more than 20 of them)."""
    return {"linestyle": ("-", "--", ":", "-.")[(k // 20) % 4]}


def _legend(fig: Figure, choices: Sequence[str], colors: dict[str, str]) -> None:
    handles = [
        Line2D([], [], color=colors[c], marker="o", ms=3, **_dash(k)) for k, c in enumerate(choices)
    ]
    fig.legend(
        handles,
        [_display(c) for c in choices],
        loc="outside right upper",
        frameon=False,
        ncol=_legend_columns(choices),
    )


def _legend_columns(choices: Sequence[str]) -> int:
    return 1 if len(choices) <= 14 else 2


def _series(rows: Sequence[dict], key: str, scale: float = 1.0) -> list[float]:
    """``key`` of each row (times ``scale``); NaN, drawn as a gap, where a row lacks it."""
    return [float("nan") if r.get(key) is None else r[key] * scale for r in rows]


def _display(choice: str) -> str:
    return DISPLAY_NAMES.get(choice, choice)


def _figure(size: tuple[float, float]) -> Figure:
    return Figure(figsize=size, layout="constrained")


def _slug(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


def _is_zero(op: str) -> bool:
    return op in OPERATORS and "zero" in OPERATORS.get(op).tags


def _count(genotype: Genotype, factor: dict, counts: dict[str, Counter]) -> None:
    """Add the choice ``factor`` took on each kept edge of ``genotype`` to ``counts``."""
    for cell in CELL_TYPES:
        for edge in getattr(genotype, cell).edges:
            if factor["role"] == "operator":
                value = edge.op
            elif factor["role"] == "input":
                value = edge.inputs.get(factor["name"])
            else:
                value = edge.arguments.get(factor.get("keyword") or factor["name"])
            if value is not None:
                counts[cell][str(value)] += 1
