"""The HTML document around a report's sections: navigation, stylesheet and a load check.

Self-contained (no server, no external stylesheet or script), so the page opens from disk.
"""

from __future__ import annotations

from html import escape

RUN_SECTIONS = (
    ("overview", "overview"),
    ("genotype", "genotype"),
    ("weights", "weights"),
    ("metrics", "training"),
    ("environment", "environment"),
    ("recipe", "recipe"),
)


def document(
    title: str, body: str, nav: tuple[tuple[str, str], ...] | list[tuple[str, str]] = RUN_SECTIONS
) -> str:
    """The whole page: ``body`` (the sections) under a bar linking to each ``(anchor, label)``."""
    links = " ".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in nav)
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
<nav>{links}</nav>
<main>
{body}
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""


# When every image has loaded (or failed), <body> says so: data-images-loaded="true" or "false",
# with the sources that failed in data-images-broken; and what is wider than the window, cut off
# or scrolled sideways, in data-overflow ("page", "scrollN": the N-th .scroll box; "" if none).
# Headless checks read it back.
SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  document.body.dataset.imagesTotal = images.length;
  document.body.dataset.imagesBroken = broken.map(function (i) { return i.getAttribute("src"); }).join(" ");
  document.body.dataset.imagesLoaded = broken.length ? "false" : "true";
  var wide = document.documentElement.scrollWidth > window.innerWidth ? ["page"] : [];
  document.querySelectorAll(".scroll").forEach(function (box, k) {
    if (box.scrollWidth > box.clientWidth + 1) { wide.push("scroll" + k); }
  });
  document.body.dataset.overflow = wide.join(" ");
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
table.num th { white-space: normal; text-align: right; vertical-align: bottom; min-width: 3.5em; }
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
