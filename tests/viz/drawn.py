"""What a cell drawing shows (read back from the SVG graphviz writes) and what crosses what.

The SVG gives the text and colours a reader sees: :func:`drawn_edges` joins each edge's two halves
(``a -> label<k> -> b``, see :func:`factorspace.viz.render.drawing_graph`) back into one edge
with its label. The geometry comes from dot's ``plain`` output (the layout the SVG, PDF and PNG
are drawn from): nodes as boxes (inches), edges as cubic Bézier control points, sampled densely.
"""

from __future__ import annotations

import itertools
import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import graphviz

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(g: graphviz.Digraph) -> ET.Element:
    return ET.fromstring(g.pipe(format="svg"))


def _groups(svg: ET.Element, kind: str):
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == kind:
            yield g.find(f"{SVG}title").text, g


def _end(title: str) -> str:
    """'c_{k-2}:e' -> 'c_{k-2}' (graphviz writes an edge's ports into its title)."""
    return re.sub(r":[nsew]$", "", title)


def node_texts(svg: ET.Element) -> dict[str, list[str]]:
    """Each node's name -> its text elements as drawn (lines; a subscript is one of its own)."""
    return {t: [x.text for x in g.iter(f"{SVG}text")] for t, g in _groups(svg, "node")}


def drawn_edges(svg: ET.Element) -> list[tuple[str, str, str, str]]:
    """(source, target, label, stroke colour) of every edge as a reader sees it, sorted: an
    operation's two halves joined, its label's lines joined by " · "; an unlabelled edge ''."""
    texts = node_texts(svg)
    halves: dict[str, dict[str, tuple[str, str]]] = {}
    found = []
    for title, g in _groups(svg, "edge"):
        tail, head = map(_end, title.split("->"))
        stroke = ":".join(p.get("stroke").upper() for p in g.iter(f"{SVG}path"))
        if head.startswith("label"):
            halves.setdefault(head, {})["in"] = (tail, stroke)
        elif tail.startswith("label"):
            halves.setdefault(tail, {})["out"] = (head, stroke)
        else:
            found.append((tail, head, "", stroke))
    for label, ends in halves.items():
        (source, stroke), (target, stroke_out) = ends["in"], ends["out"]
        assert stroke == stroke_out, f"{label}: its halves differ in colour"
        found.append((source, target, " · ".join(texts[label]), stroke))
    return sorted(found)


BAR = "\u25ac"  # a legend entry's colour sample


def legend_of(svg: ET.Element) -> list[str]:
    """The text under the cell (its title, then the legend's names); [] when there is none."""
    return list(legend_colors(svg))


def legend_colors(svg: ET.Element) -> dict[str, str | None]:
    """The text under the cell -> the colour of the bar before it (None for a title)."""
    graph = next(g for _, g in _groups(svg, "graph"))
    found, color = {}, None
    for t in graph.findall(f"{SVG}text"):
        if t.text == BAR:
            color = t.get("fill").upper()
        else:
            found[t.text.strip()] = color
            color = None
    return found


def label_sizes(svg: ET.Element) -> list[float]:
    """The printed size (points) of every edge label's text, the drawing's scale applied."""
    scale = float(re.match(r"scale\(([\d.]+)", svg.find(f"{SVG}g").get("transform")).group(1))
    return [
        float(text.get("font-size")) * scale
        for title, g in _groups(svg, "node")
        if title.startswith("label")
        for text in g.iter(f"{SVG}text")
    ]


def width_in(svg: ET.Element) -> float:
    return float(svg.get("width").removesuffix("pt")) / 72


SAMPLES = 40  # points per Bézier segment
INSET = 0.01  # inches: an edge that only touches a box's outline (its own port) does not count


@dataclass(frozen=True)
class Box:
    name: str
    x0: float
    y0: float
    x1: float
    y1: float

    def holds(self, x: float, y: float, inset: float = INSET) -> bool:
        return self.x0 + inset < x < self.x1 - inset and self.y0 + inset < y < self.y1 - inset

    def overlaps(self, other: Box) -> bool:
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )


@dataclass(frozen=True)
class Edge:
    tail: str
    head: str
    points: list[tuple[float, float]]


def layout(g: graphviz.Digraph) -> tuple[dict[str, Box], list[Edge]]:
    """The boxes of the visible nodes by name, and every visible edge's sampled path."""
    boxes, edges = {}, []
    for line in g.pipe(format="plain").decode().splitlines():
        f = shlex.split(line)
        if f[0] == "node" and "invis" not in f:
            x, y, w, h = map(float, f[2:6])
            boxes[f[1]] = Box(f[1], x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        elif f[0] == "edge" and "invis" not in f:
            n = int(f[3])
            control = [(float(f[4 + 2 * i]), float(f[5 + 2 * i])) for i in range(n)]
            edges.append(Edge(f[1], f[2], sample(control)))
    return boxes, edges


def sample(control: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points along a piecewise cubic Bézier curve (graphviz's b-spline control points)."""
    points = []
    for i in range(0, len(control) - 3, 3):
        p0, p1, p2, p3 = control[i : i + 4]
        for k in range(SAMPLES + 1):
            t = k / SAMPLES
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3
            points.append(
                (
                    a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                    a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
                )
            )
    return points


def crossings(g: graphviz.Digraph) -> list[str]:
    """What a reader would see tangled: an edge through a node or label that is not one of its
    ends, and two nodes or labels that overlap. Empty for a clean drawing."""
    boxes, edges = layout(g)
    found = [
        f"{e.tail}->{e.head} crosses {box.name}"
        for e in edges
        for box in boxes.values()
        if box.name not in (e.tail, e.head) and any(box.holds(x, y) for x, y in e.points)
    ]
    found += [
        f"{a.name} overlaps {b.name}"
        for a, b in itertools.combinations(boxes.values(), 2)
        if a.overlaps(b)
    ]
    return found
