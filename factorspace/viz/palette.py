"""How every picture names and colours things, so a cell drawing, a plot and the report agree.

An activation has one colour everywhere (the edges of :mod:`~factorspace.viz.render`, the lines
and bars of :mod:`~factorspace.viz.plots`, the swatches of :mod:`~factorspace.viz.report`) and one
display name (``selu`` is written SELU); a cell's nodes are named as in the DARTS figures.
"""

from __future__ import annotations

from collections.abc import Iterable

from factorspace.genotype.naming import (  # noqa: F401  (re-exported: named here before)
    INPUT_NAMES,
    OUTPUT_NAME,
    node_name,
)

# Nine colours from Okabe & Ito (2008) and Paul Tol's schemes (https://personal.sron.nl/~pault/),
# picked together so that every pair, and each against NO_ACTIVATION's grey, differs by a CIEDE2000
# distance of at least 20 to normal vision and 10 under simulated protanopia and deuteranopia
# (Machado et al. 2009); tests/viz/test_palette_contrast.py checks it. Tol's "muted" wine and
# purple, used before, were 15 apart (SELU and Swish looked alike); Okabe-Ito's black, used for
# Swish after that, is the colour of text and outlines, so Swish now takes Tol's dark red (his
# original 12-colour scheme), 27 from black. The mapping is fixed, so an activation has the same
# colour in every figure.
ACTIVATION_COLORS = {
    "relu": "#0072B2",  # blue (Okabe-Ito)
    "relu6": "#66CCEE",  # cyan (Tol bright)
    "leaky_relu": "#117733",  # green (Tol muted)
    "prelu": "#332288",  # indigo (Tol muted)
    "rrelu": "#DDCC77",  # sand (Tol muted)
    "elu": "#EE7733",  # orange (Tol vibrant)
    "celu": "#EE3377",  # magenta (Tol vibrant)
    "selu": "#882255",  # wine (Tol muted)
    "swish": "#661100",  # dark red (Tol)
}
# For other activations, in the order of their names: the colours next farthest from those above.
EXTRA_COLORS = ("#AA3377", "#CC3311", "#CC79A7", "#44AA99")
NO_ACTIVATION = "#8C8C8C"  # pooling, skip, none
NO_ACTIVATION_NAME = "no activation"  # its legend entry (pooling, skip_connect)
CONCAT = "#BBBBBB"  # node -> c_{k}
# Okabe-Ito, for choices that are not activations (operators, kernel sizes) and for series
# (train/validation, normal/reduce); figures.choice_colors gives more choices matplotlib's tab20.
CHOICE_COLORS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)

DISPLAY_NAMES = {
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leaky_relu": "LeakyReLU",
    "prelu": "PReLU",
    "rrelu": "RReLU",
    "elu": "ELU",
    "celu": "CELU",
    "selu": "SELU",
    "swish": "Swish",
}

# A cell's nodes are named as the DARTS figures name them by factorspace.genotype.naming (one
# numbering for every picture and line; genotype files keep DARTS's code numbering).
ARGUMENT_ABBREVIATIONS = {"kernel_size": "k", "dilation": "d", "stride": "s", "groups": "g"}


def activation_colors(activations: Iterable[str]) -> dict[str, str]:
    """The colour of each activation: fixed for the nine known ones, then EXTRA_COLORS by name."""
    names = sorted(set(activations))
    unknown = [a for a in names if a not in ACTIVATION_COLORS]
    extra = {a: EXTRA_COLORS[i % len(EXTRA_COLORS)] for i, a in enumerate(unknown)}
    return {a: ACTIVATION_COLORS.get(a) or extra[a] for a in names}


def display_name(name: str) -> str:
    """'selu' -> 'SELU'; a name without a display form is written as it is."""
    return DISPLAY_NAMES.get(name, name)
