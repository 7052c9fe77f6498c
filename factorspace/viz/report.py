"""``write_report(run_dir)``: one HTML page that says what a search run did and found.

The page, ``RUN_DIR/report.html``, opens from disk with no server: its images are the files in
``RUN_DIR/plots/`` (the :mod:`factorspace.viz.plots` figures and the cells drawn by
:func:`~factorspace.viz.render.render_genotype`), referred to by relative paths, so the run directory
can be copied or archived whole. It holds the overview (status, time, space size), the final
genotype as tables and drawings, the architecture weights, the metrics and the environment, and
the resolved recipe.
"""

from __future__ import annotations

import datetime
import json
import re
import warnings
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from PIL import Image

from factorspace.errors import FactorspaceError
from factorspace.genotype import CELL_TYPES, Genotype, load_genotype
from factorspace.run.rundir import atomic_write_text
from factorspace.viz import plots
from factorspace.viz.render import (
    DISPLAY_NAMES,
    GraphvizMissingWarning,
    activation_colors,
    render_genotype,
)

REPORT = "report.html"
CSS_DPI = 96  # CSS pixels per inch
CELL_SCALE = 1.4  # graphviz sizes its 14 pt labels for a paper column; a page has room


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
    run = _read_json(run_dir / "run.json")
    recipe_text = (
        (run_dir / "recipe.yaml").read_text() if (run_dir / "recipe.yaml").is_file() else ""
    )
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
        cells = render_genotype(genotype, run_dir / plots.PLOTS / "cells.svg", fmt="svg")
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
    path = run_dir / REPORT
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
    missing = [
        name
        for name, present in (
            ("metrics.jsonl", (run_dir / "metrics.jsonl").is_file()),
            ("arch/epoch_NNN.json", any((run_dir / "arch").glob("epoch_*.json"))),
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
    if (run_dir / "genotype.json").is_file():
        return load_genotype(run_dir / "genotype.json"), None
    epochs = sorted((run_dir / "genotypes").glob("epoch_*.json"))
    if not epochs:
        raise FactorspaceError(f"{run_dir}: no genotype.json and no genotypes/epoch_NNN.json")
    return load_genotype(epochs[-1]), (
        f"The run has no genotype.json (it did not finish); this is the genotype derived after "
        f"{epochs[-1].stem.replace('_', ' ')}."
    )


# --- sections ----------------------------------------------------------------------------------


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
        parts.append('<div class="cells">')
        for cell in CELL_TYPES:
            parts.append(f"<div><h3>{cell} cell</h3>{genotype_table(genotype, cell)}</div>")
        parts.append("</div>")
        drawings = [p for p in cells if p.suffix == ".svg"]
        if drawings:  # one per row: a cell is wide and its labels small
            parts.append("<div>")
            for path, cell in zip(drawings, CELL_TYPES, strict=False):
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

    def weights_section(self, records: list[dict], figures: dict[str, list[Path]]) -> str:
        last = records[-1]
        parts = [
            f"<p>The softmax weights of each factor on every edge after epoch {last['epoch']} "
            "(the strongest choice of each edge outlined; the edges the genotype keeps in bold), "
            f"and how they moved over the {len(records)} epochs recorded.</p>"
        ]
        by_name = _group(figures["heatmaps"] + figures["trajectories"])
        for factor in last["choices"]:
            slug = plots._slug(factor)
            parts.append(f"<h3>{escape(factor)}</h3>")
            parts.append('<div class="grid2">')
            for cell in CELL_TYPES:
                parts.append(
                    self.figure(by_name[f"arch_{slug}_{cell}"], f"{factor}, {cell} cell, final")
                )
            parts.append("</div>")
            parts.append(
                self.figure(by_name[f"trajectory_{slug}"], f"{factor}: mean weight per epoch")
            )
            edges = [by_name.get(f"trajectory_{slug}_{cell}_edges") for cell in CELL_TYPES]
            if all(edges):
                inner = "".join(
                    self.figure(files, f"{factor}, {cell} cell, per edge")
                    for files, cell in zip(edges, CELL_TYPES, strict=True)
                )
                parts.append(f"<details><summary>per edge</summary>{inner}</details>")
        if "arch_edges" in by_name:
            parts.append("<h3>edge normalisation</h3>")
            parts.append(
                self.figure(by_name["arch_edges"], "each edge's weight among its node's inputs")
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
        ("throughput", f"{sum(speeds) / len(speeds):,.0f} images/s" if speeds else "—"),
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
        s = space_summary(load_recipe(run_dir / "recipe.yaml"), measure_memory=False)
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


def genotype_table(genotype: Genotype, cell: str) -> str:
    c = getattr(genotype, cell)
    extra: list[tuple[str, str]] = []  # (where, key): inputs then arguments, in first-seen order
    for e in c.edges:
        for where, keys in (("inputs", e.inputs), ("arguments", e.arguments)):
            extra += [(where, k) for k in keys if (where, k) not in extra]
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
            values += f"<td>{swatch}{escape(_display(value))}</td>"
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
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_format(k, r.get(k)))}</td>" for k in keys) + "</tr>"
        for r in rows
    )
    return (
        f'<div class="scroll"><table class="data num"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


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


def document(title: str, body: str) -> str:
    nav = " ".join(
        f'<a href="#{a}">{t}</a>'
        for a, t in (
            ("overview", "overview"),
            ("genotype", "genotype"),
            ("weights", "weights"),
            ("metrics", "training"),
            ("environment", "environment"),
            ("recipe", "recipe"),
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="factorspace">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<nav>{nav}</nav>
<main>
{body}
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""


# When every image has loaded (or failed), <body> says so: data-images-loaded="true" or "false",
# with the sources that failed in data-images-broken. Headless checks read it back.
SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  document.body.dataset.imagesTotal = images.length;
  document.body.dataset.imagesBroken = broken.map(function (i) { return i.getAttribute("src"); }).join(" ");
  document.body.dataset.imagesLoaded = broken.length ? "false" : "true";
});
"""

CSS = """
:root { --fg: #1d2330; --muted: #5b6473; --line: #dde1e7; --bg: #f6f7f9; --accent: #0072b2; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; color: var(--fg); background: white; }
nav { position: sticky; top: 0; z-index: 1; background: var(--fg); padding: .45rem 1.5rem; }
nav a { color: white; margin-right: 1.2rem; text-decoration: none; font-size: .9rem; }
main { max-width: 1400px; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
header h1 { margin: .6rem 0 .2rem; font-size: 1.7rem; }
header p { margin: 0; color: var(--muted); }
h2 { margin-top: 2.4rem; padding-bottom: .3rem; border-bottom: 2px solid var(--line); font-size: 1.3rem; }
h3 { margin: 1.4rem 0 .5rem; font-size: 1.05rem; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .88em; }
pre { background: var(--bg); border: 1px solid var(--line); padding: 1rem; overflow-x: auto; }
a { color: var(--accent); }
.status { display: inline-block; padding: 0 .55rem; border-radius: 1rem; font-weight: 600;
  font-size: .85rem; background: #e6e8ec; color: var(--fg); }
.status.complete { background: #d7f0e3; color: #0b6b3a; }
.status.running { background: #dbeafe; color: #1e40af; }
.status.interrupted, .status.early_stopped { background: #fde8cf; color: #8a4b00; }
.grid2, .cells { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
  gap: 1.2rem 2rem; align-items: start; }
table { border-collapse: collapse; }
table.kv th { text-align: left; font-weight: 500; color: var(--muted); padding: .2rem 1.2rem .2rem 0;
  vertical-align: top; white-space: nowrap; }
table.kv td { padding: .2rem 0; }
table.data { width: 100%; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: .3rem .6rem;
  text-align: left; white-space: nowrap; }
table.data th { background: var(--bg); font-weight: 600; }
table.num td { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; margin-top: 1rem; }
figure { margin: .6rem 0 1rem; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line);
  background: white; }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .3rem; }
.links { margin-left: .4rem; }
.note { background: #fff6e5; border-left: 4px solid #e69f00; padding: .5rem .8rem; }
.small { font-size: .85rem; color: var(--muted); }
details { margin: .6rem 0; }
summary { cursor: pointer; color: var(--accent); }
.swatch { display: inline-block; width: .8em; height: .8em; margin-right: .4em; border-radius: 2px;
  vertical-align: -0.05em; }
"""


# --- small helpers -----------------------------------------------------------------------------


def title_of(run_dir: Path, recipe_text: str) -> str:
    recipe = yaml.safe_load(recipe_text) if recipe_text else None
    name = (recipe or {}).get("name") or run_dir.resolve().name
    return f"Search report: {name}"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _group(files: list[Path]) -> dict[str, list[Path]]:
    """Files by stem: ``{"metrics": [metrics.png, metrics.pdf]}``."""
    by_stem: dict[str, list[Path]] = {}
    for f in files:
        by_stem.setdefault(f.stem, []).append(f)
    return by_stem


def _png_width(path: Path) -> str:
    """``width`` for a PNG drawn at ``plots.DPI``: one figure inch is 96 CSS pixels."""
    with Image.open(path) as im:
        return f' width="{round(im.width * CSS_DPI / plots.DPI)}"'


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
        return f"{value:,.0f}"
    return f"{value:.4f}"


def _display(name: str) -> str:
    return DISPLAY_NAMES.get(name, name)
