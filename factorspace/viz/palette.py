"""How every picture names and colours things, so a cell drawing, a plot and the report agree.

An activation has one colour everywhere (the edges of :mod:`~factorspace.viz.render`, the lines
and bars of :mod:`~factorspace.viz.plots`, the swatches of :mod:`~factorspace.viz.report`) and one
display name (``selu`` is written SELU); a cell's nodes are named as in the DARTS figures.
"""

from __future__ import annotations

from collections.abc import Iterable

# Paul Tol's "muted" qualitative scheme: nine colours told apart under the common colour-vision
# deficiencies, one per activation the paper searches over. The mapping is fixed, so an activation
# has the same colour in every figure.
ACTIVATION_COLORS = {
    "relu": "#332288",  # indigo
    "relu6": "#88CCEE",  # cyan
    "leaky_relu": "#44AA99",  # teal
    "prelu": "#117733",  # green
    "rrelu": "#999933",  # olive
    "elu": "#DDCC77",  # sand
    "celu": "#CC6677",  # rose
    "selu": "#882255",  # wine
    "swish": "#AA4499",  # purple
}
# Okabe-Ito colours, handed to other activations in the order of their names.
EXTRA_COLORS = ("#E69F00", "#0072B2", "#D55E00", "#000000")
NO_ACTIVATION = "#8C8C8C"  # pooling, skip, none
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

# A cell's two inputs as the DARTS figures name them; intermediate nodes 2.. are drawn 0, 1, ...
INPUT_NAMES = ("c_{k-2}", "c_{k-1}")
OUTPUT_NAME = "c_{k}"


def activation_colors(activations: Iterable[str]) -> dict[str, str]:
    """The colour of each activation: fixed for the nine known ones, then Okabe-Ito by name."""
    names = sorted(set(activations))
    unknown = [a for a in names if a not in ACTIVATION_COLORS]
    extra = {a: EXTRA_COLORS[i % len(EXTRA_COLORS)] for i, a in enumerate(unknown)}
    return {a: ACTIVATION_COLORS.get(a) or extra[a] for a in names}


def display_name(name: str) -> str:
    """'selu' -> 'SELU'; a name without a display form is written as it is."""
    return DISPLAY_NAMES.get(name, name)


def node_name(node: int) -> str:
    """A cell's node in DARTS numbering (0, 1 = the inputs) as drawn: c_{k-2}, c_{k-1}, 0, 1..."""
    return INPUT_NAMES[node] if node < 2 else str(node - 2)
