"""The sections of a run's report, each an HTML fragment: overview, genotype, weights, metrics.

:class:`Page` builds the sections that show the run's files (figures, cell drawings) by paths
relative to the run directory; the others are built from the run's records alone.
"""

from __future__ import annotations

import datetime
import re
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from PIL import Image

from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype
from factorspace.viz import plots
from factorspace.viz.figures import DPI
from factorspace.viz.palette import activation_colors, display_name
from factorspace.viz.records import record_cells

CSS_DPI = 96  # CSS pixels per inch
CELL_SCALE = 1.4  # graphviz sizes its 14 pt labels for a paper column; a page has room


class Page:
    """Sections that refer to files: paths are written relative to the run directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def href(self, path: Path) -> str:
        return escape(quote(path.relative_to(self.run_dir).as_posix()))

    def figure(self, files: list[Path], caption: str) -> str:
        """The PNG of ``files`` at its print size (fonts at their point size), linking every format."""
        png = next(f for f in files if f.suffix == ".png")
        links = " · ".join(
            f'<a href="{self.href(f)}">{escape(f.suffix[1:].upper())}</a>' for f in files
        )
        return (
            f'<figure><img src="{self.href(png)}" alt="{escape(caption)}"{_png_width(png)}>'
            f"<figcaption>{escape(caption)} <span class=links>{links}</span></figcaption></figure>"
        )

    def genotype_section(
        self, genotype: Genotype, note: str | None, cells: list[Path], missing_dot: list[str]
    ) -> str:
        parts = [f'<p class="note">{escape(note)}</p>' if note else ""]
        parts.append(
            '<p class="small">Nodes as in the DARTS paper, in the tables and the drawings: '
            "inputs c<sub>k-2</sub> and c<sub>k-1</sub>, intermediate nodes 0, 1, ..., output "
            "c<sub>k</sub> (<code>genotype.json</code> numbers the same nodes 0, 1 for the "
            "inputs and 2, 3, ... for the intermediate ones, as DARTS's code does).</p>"
        )
        parts.append('<div class="cells">')
        for cell in genotype.cell_types:
            parts.append(f"<div><h3>{cell} cell</h3>{genotype_table(genotype, cell)}</div>")
        parts.append("</div>")
        drawings = [p for p in cells if p.suffix == ".svg"]
        if drawings:  # one per row: a cell is wide and its labels small
            parts.append("<div>")
            for path, cell in zip(drawings, genotype.cell_types, strict=False):
                parts.append(
                    f'<figure><img src="{self.href(path)}" alt="{cell} cell"{_svg_width(path)}>'
                    f'<figcaption>{cell} cell <span class=links><a href="{self.href(path)}">SVG</a>'
                    "</span></figcaption></figure>"
                )
            parts.append("</div>")
        if missing_dot:
            sources = ", ".join(
                f'<a href="{self.href(p)}"><code>{escape(p.name)}</code></a>' for p in cells
            )
            parts.append(
                f'<p class="note">Cells not drawn: graphviz\'s <code>dot</code> is not installed. '
                f"Their sources: {sources}. Install graphviz (<code>apt-get install graphviz</code> "
                f"or <code>brew install graphviz</code>) and run <code>factorspace report</code> "
                f"again.</p>"
            )
        return section("genotype", "Final genotype", "\n".join(parts))

    def weights_section(
        self, records: list[dict], figures: dict[str, list[Path]], keep: int | None = None
    ) -> str:
        """Each factor's final weights per edge, with what derivation kept, and trajectories."""
        last = records[-1]
        edges_a_node = f"the {keep} strongest" if keep else "the strongest"
        parts = [
            f"<p>The softmax weights of each factor on every edge after epoch {last['epoch']}, "
            f"and how they moved over the {len(records)} epochs recorded. Outlined: the choice "
            f"the genotype derived after epoch {last['epoch']} keeps on each of its edges (DARTS's "
            f"rule: {edges_a_node} edges into each node, each with its strongest operator other "
            "than <code>none</code>); edges in bold are kept, greyed rows are the edges it drops. "
            "A kept edge without an outline takes no choice of that factor (an activation on a "
            "pooling or skip edge). Edges are named as in the cell drawings: inputs "
            "c<sub>k-2</sub>, c<sub>k-1</sub>, intermediate nodes 0, 1, ...</p>"
        ]
        if not any("_edges" in p.stem for p in figures["trajectories"]):
            parts.append(
                '<p class="small">Each edge\'s own trajectories are drawn once a run has three '
                "epochs recorded.</p>"
            )
        by_name = _group(figures["heatmaps"] + figures["trajectories"])
        cells = record_cells(last)
        for factor in last["choices"]:
            parts.append(f"<h3>{escape(factor)}</h3>")
            parts.append('<div class="grid2">')
            for cell in cells:
                parts.append(
                    self.figure(
                        by_name[plots.heatmap_stem(factor, cell)], f"{factor}, {cell} cell, final"
                    )
                )
            parts.append("</div>")
            parts.append(
                self.figure(
                    by_name[plots.trajectory_stem(factor)], f"{factor}: mean weight per epoch"
                )
            )
            edges = [by_name.get(plots.trajectory_stem(factor, cell)) for cell in cells]
            if all(edges):
                inner = "".join(
                    self.figure(files, f"{factor}, {cell} cell, per edge")
                    for files, cell in zip(edges, cells, strict=True)
                )
                parts.append(f"<details><summary>per edge</summary>{inner}</details>")
        if plots.EDGE_WEIGHTS_STEM in by_name:
            parts.append("<h3>edge normalisation</h3>")
            parts.append(
                self.figure(
                    by_name[plots.EDGE_WEIGHTS_STEM], "each edge's weight among its node's inputs"
                )
            )
        return section("weights", "Architecture weights", "\n".join(parts))

    def metrics_section(self, rows: list[dict], files: list[Path]) -> str:
        return section(
            "metrics",
            "Training",
            self.figure(files, "loss, accuracy and architecture entropy per epoch")
            + metrics_table(rows),
        )


def header(run_dir: Path, run: dict, recipe_text: str) -> str:
    status = str(run.get("status", "unknown"))
    return (
        f"<header><h1>{escape(title_of(run_dir, recipe_text))}</h1>"
        f'<p><span class="status {escape(status)}">{escape(status)}</span> '
        f"<code>{escape(str(run_dir.resolve()))}</code> · report written "
        f"{escape(datetime.datetime.now().strftime('%Y-%m-%d %H:%M'))}</p></header>"
    )


def overview(run: dict, rows: list[dict], recipe_text: str, run_dir: Path) -> str:
    recipe = yaml.safe_load(recipe_text) if recipe_text else {}
    planned = (recipe or {}).get("search", {}).get("epochs")
    last = rows[-1]
    best = max(rows, key=lambda r: r.get("val_acc", 0))
    speeds = [r["images_per_s"] for r in rows if r.get("images_per_s")]
    items: list[tuple[str, str]] = [
        ("status", str(run.get("status", "unknown"))),
        ("epochs", f"{len(rows)}" + (f" of {planned}" if planned else "")),
        *([("stopped early", str(run["early_stop"]))] if run.get("early_stop") else []),
        ("search time", _duration(run.get("seconds"))),
        ("final accuracy", f"train {_pct(last.get('train_acc'))}, val {_pct(last.get('val_acc'))}"),
        ("best val accuracy", f"{_pct(best.get('val_acc'))} (epoch {best['epoch']})"),
        ("throughput", images_per_second(sum(speeds) / len(speeds)) if speeds else "—"),
    ]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items)
    return section(
        "overview",
        "Overview",
        f'<div class="grid2"><table class="kv">{cells}</table>{space_table(run_dir)}</div>',
    )


def space_table(run_dir: Path) -> str:
    """The space's size and parameter counts, recomputed from the run's recipe."""
    from factorspace.loader import load_recipe
    from factorspace.summary import space_summary

    try:
        recipe = load_recipe(run_dir / "recipe.yaml", run_imports=False)  # a record: data
        s = space_summary(recipe, measure_memory=False)
    except (FactorspaceError, OSError) as e:
        return f'<p class="note">Space size unavailable: {escape(str(e))}</p>'
    factors = ", ".join(
        f"{f['name']} ({len(f['choices'])})" for f in s["factors"] if len(f["choices"]) > 1
    )
    size = s["space_size"]
    mantissa, exponent = f"{size:.2e}".split("e")
    items = [
        ("mode", escape(s["mode"])),
        ("searched factors", escape(factors)),
        ("candidates per edge", f"{s['candidates_per_edge']:,}"),
        ("edges per cell", f"{s['edges_per_cell']:,}"),
        (
            "architectures",
            f'<span title="{size:,}">{mantissa} × 10<sup>{int(exponent)}</sup></span>',
        ),
        ("architecture parameters", f"{sum(s['arch_parameters'].values()):,}"),
        ("supernet weights", f"{s['supernet_weights']:,}"),
    ]
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in items)
    return f'<table class="kv">{rows}</table>'


def genotype_columns(genotype: Genotype) -> list[tuple[str, str]]:
    """The ``(where, key)`` columns of both cells' tables, the same for both: every input factor,
    then every argument, each in the order first seen (normal cell, then reduce)."""
    edges = [e for cell in genotype.cells().values() for e in cell.edges]
    inputs = dict.fromkeys(k for e in edges for k in e.inputs)
    arguments = dict.fromkeys(k for e in edges for k in e.arguments)
    return [("inputs", k) for k in inputs] + [("arguments", k) for k in arguments]


def genotype_table(genotype: Genotype, cell: str) -> str:
    c = getattr(genotype, cell)
    extra = genotype_columns(genotype)
    head = "".join(f"<th>{escape(k)}</th>" for _, k in extra)
    colors = activation_colors(a for e in c.edges for a in e.inputs.values())  # as drawn
    rows = []
    for e in sorted(c.edges, key=lambda e: (e.target, e.source)):
        values = ""
        for where, key in extra:
            value = str(getattr(e, where).get(key, "—"))
            swatch = (
                f'<span class="swatch" style="background:{escape(colors[value])}"></span>'
                if where == "inputs" and value in colors
                else ""
            )
            values += f"<td>{swatch}{escape(display_name(value))}</td>"
        rows.append(
            f"<tr><td>{edge_html(e.source)} → {edge_html(e.target)}</td>"
            f"<td><code>{escape(e.op)}</code></td>{values}</tr>"
        )
    concat = ", ".join(edge_html(n) for n in c.concat)
    return (
        f'<table class="data"><thead><tr><th>edge</th><th>operator</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table><p class=small>output c<sub>k</sub> = concat({concat})</p>"
    )


def edge_html(node: int) -> str:
    """A node as the drawings name it: c<sub>k-2</sub>, c<sub>k-1</sub>, 0, 1, ..."""
    return ("c<sub>k-2</sub>", "c<sub>k-1</sub>")[node] if node < 2 else str(node - 2)


def metrics_table(rows: list[dict]) -> str:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    # headers wrap at their words (train loss, entropy activation...): the table fits a
    # 1280-px window for a run with a few factors; its container scrolls beyond that
    head = "".join(f'<th title="{escape(k)}">{escape(metric_header(k))}</th>' for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_format(k, r.get(k)))}</td>" for k in keys) + "</tr>"
        for r in rows
    )
    return (
        f'<div class="scroll"><table class="data num"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def metric_header(key: str) -> str:
    """A metrics.jsonl key as a column header: 'val_acc' -> 'val acc', 'images_per_s' ->
    'images/s' (the key itself is the header's tooltip)."""
    return {"images_per_s": "images/s", "lr": "lr"}.get(key, key.replace("_", " "))


def environment_section(run: dict) -> str:
    env = run.get("env") or {}
    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td><code>{escape(str(v))}</code></td></tr>"
        for k, v in env.items()
    )
    content = f'<table class="kv">{rows}</table>' if rows else "<p>run.json records none.</p>"
    return section("environment", "Hardware and software", content)


def recipe_section(recipe_text: str) -> str:
    return section(
        "recipe",
        "Recipe",
        "<details><summary>recipe.yaml (resolved, with every default)</summary>"
        f"<pre>{escape(recipe_text or '(missing)')}</pre></details>",
    )


def section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>\n{content}\n</section>'


def title_of(run_dir: Path, recipe_text: str) -> str:
    recipe = yaml.safe_load(recipe_text) if recipe_text else None
    name = (recipe or {}).get("name") or run_dir.resolve().name
    return f"Search report: {name}"


# --- small helpers -----------------------------------------------------------------------------


def _group(files: list[Path]) -> dict[str, list[Path]]:
    """Files by stem: ``{"metrics": [metrics.png, metrics.pdf]}``."""
    by_stem: dict[str, list[Path]] = {}
    for f in files:
        by_stem.setdefault(f.stem, []).append(f)
    return by_stem


def _png_width(path: Path) -> str:
    """``width`` for a PNG drawn at ``DPI``: one figure inch is 96 CSS pixels."""
    with Image.open(path) as im:
        return f' width="{round(im.width * CSS_DPI / DPI)}"'


def _svg_width(path: Path) -> str:
    """``width`` for graphviz's SVG (sized in points), scaled to match the figures' text."""
    match = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', path.read_text(errors="replace"))
    return f' width="{round(float(match[1]) * CSS_DPI / 72 * CELL_SCALE)}"' if match else ""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = round(seconds)
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s" if m else f"{s} s"


def images_per_second(rate: float) -> str:
    """'1,234 images/s', '12.5 images/s', '1 image/s', '0.25 images/s'."""
    number = _rate(rate)
    return f"{number} {'image' if number == '1' else 'images'}/s"


def _rate(rate: float) -> str:
    """A rate to three significant digits below 100 (a CPU run's 0.4/s is not 0), whole above."""
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _format(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if key.endswith("_acc"):
        return f"{100 * value:.2f}%"
    if key == "lr":
        return f"{value:.3g}"
    if key == "images_per_s":
        return _rate(value)
    return f"{value:.4f}"
