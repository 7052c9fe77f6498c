"""Every registered activation's colour can be told from every other's, also by colour-blind readers.

Colour differences are CIEDE2000 (Sharma, Wu & Dalal 2005) between CIELAB colours computed from
sRGB (D65); colour-vision deficiencies are simulated with Machado, Oliveira & Fernandes (2009)'s
matrices at severity 1 on linear RGB.
"""

from __future__ import annotations

import itertools
import math

import pytest

import factorspace.ops  # noqa: F401  (registers the built-in activations)
from factorspace.registry import ACTIVATIONS
from factorspace.viz import palette

NORMAL_MIN_DE = 20.0  # CIEDE2000: about 2.3 is "just noticeable"; 20 is plainly another colour
DEFICIENT_MIN_DE = 10.0
MACHADO = {  # linear-RGB matrices, severity 1.0
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
}


def linear_rgb(hex_color: str) -> tuple[float, ...]:
    channels = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)


def lab(rgb: tuple[float, ...]) -> tuple[float, float, float]:
    """CIELAB (D65 white) of a linear sRGB colour."""
    r, g, b = rgb
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    fx, fy, fz = (
        t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29 for t in xyz
    )
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def simulate(rgb: tuple[float, ...], deficiency: str) -> tuple[float, ...]:
    return tuple(
        min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb, strict=True))))
        for row in MACHADO[deficiency]
    )


def ciede2000(lab1: tuple[float, ...], lab2: tuple[float, ...]) -> float:
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1, h2 = (math.degrees(math.atan2(b, a)) % 360 for a, b in ((a1, b1), (a2, b2)))
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 + 180) % 360 - 180
    d_hue = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh / 2))
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        h_mean = h1 + h2
    elif abs(h1 - h2) <= 180:
        h_mean = (h1 + h2) / 2
    else:
        h_mean = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_mean, 1 + 0.015 * c_mean * t
    rotation = -2 * math.sqrt(c_mean**7 / (c_mean**7 + 25**7))
    rotation *= math.sin(math.radians(60 * math.exp(-(((h_mean - 275) / 25) ** 2))))
    dl, dc, dhue = (l2 - l1) / s_l, (c2 - c1) / s_c, d_hue / s_h
    return math.sqrt(dl**2 + dc**2 + dhue**2 + rotation * dc * dhue)


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # Sharma, Wu & Dalal (2005), Table 1: pairs 1, 7, 17 and 25
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ],
)
def test_ciede2000_matches_the_published_test_data(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def edge_colors() -> dict[str, str]:
    """Every built-in activation's colour, the grey of an edge without one, and black.

    (Activations other tests register for a while are left out: they take EXTRA_COLORS.)
    """
    built_in = [
        name
        for name in ACTIVATIONS
        if ACTIVATIONS.get(name).factory.__module__.startswith("factorspace.")
    ]
    assert len(built_in) >= 9
    return {
        **palette.activation_colors(built_in),
        "no activation": palette.NO_ACTIVATION,
        "black": "#000000",  # the labels' text and the nodes' outlines: no edge may look like them
    }


@pytest.mark.parametrize(
    ("vision", "minimum"),
    [
        ("normal", NORMAL_MIN_DE),
        ("protanopia", DEFICIENT_MIN_DE),
        ("deuteranopia", DEFICIENT_MIN_DE),
    ],
)
def test_every_pair_of_activation_colours_is_told_apart(vision, minimum):
    def seen(color: str):
        rgb = linear_rgb(color)
        return lab(rgb if vision == "normal" else simulate(rgb, vision))

    too_close = [
        (a, b, round(ciede2000(seen(ca), seen(cb)), 1))
        for (a, ca), (b, cb) in itertools.combinations(edge_colors().items(), 2)
        if ciede2000(seen(ca), seen(cb)) < minimum
    ]
    assert too_close == []
