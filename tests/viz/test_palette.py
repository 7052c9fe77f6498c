"""The shared palette: every built-in activation has its own colour and name, everywhere."""

from __future__ import annotations

import subprocess
import sys

import factorspace.ops  # noqa: F401  (registers the built-in activations)
from factorspace.registry import ACTIVATIONS
from factorspace.viz import palette, render

BUILT_IN = [
    name
    for name in ACTIVATIONS
    if ACTIVATIONS.get(name).factory.__module__.startswith("factorspace.")
]


def test_every_built_in_activation_has_a_colour_and_a_display_name():
    assert BUILT_IN, "no built-in activations registered"
    assert set(BUILT_IN) <= set(palette.ACTIVATION_COLORS)
    assert set(BUILT_IN) <= set(palette.DISPLAY_NAMES)


def test_colours_tell_every_kind_of_edge_apart():
    fixed = [*palette.ACTIVATION_COLORS.values(), palette.NO_ACTIVATION, palette.CONCAT]
    assert len({c.lower() for c in fixed}) == len(fixed)
    assert not {c.lower() for c in palette.EXTRA_COLORS} & {c.lower() for c in fixed}
    assert len(set(palette.CHOICE_COLORS)) == len(palette.CHOICE_COLORS)


def test_activations_without_a_fixed_colour_get_distinct_ones_by_name():
    colors = palette.activation_colors(["zeta", "relu", "alpha", "relu"])
    assert list(colors) == ["alpha", "relu", "zeta"]  # sorted, once each
    assert colors["relu"] == palette.ACTIVATION_COLORS["relu"]
    assert colors["alpha"] == palette.EXTRA_COLORS[0] and colors["zeta"] == palette.EXTRA_COLORS[1]


def test_names_as_drawn():
    assert palette.display_name("selu") == "SELU"
    assert palette.display_name("hardswish") == "hardswish"
    assert [palette.node_name(k) for k in range(4)] == ["c_{k-2}", "c_{k-1}", "0", "1"]


def test_render_still_offers_the_palette_it_had():
    assert render.ACTIVATION_COLORS is palette.ACTIVATION_COLORS
    assert render.DISPLAY_NAMES is palette.DISPLAY_NAMES
    assert render.activation_colors is palette.activation_colors


def test_drawing_cells_and_reading_records_import_no_matplotlib():
    code = (
        "import sys, factorspace.viz.palette, factorspace.viz.render, factorspace.viz.records; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
