"""Published NAS-Bench-201 search results, drawn as reference lines beside a study's own, and the
parameter-free count of a cell (the shape of DARTS's collapse).

Each figure is the test accuracy (%) of the cell a method derived, as its paper reports it: full
scale, on a GPU, searched on CIFAR-10 (DrNAS searched on each data set separately; its
CIFAR-100 and ImageNet16-120 figures come from those searches, so only CIFAR-10 is drawn for
every method). The best cell and the random-cell distribution come from the table itself
(:mod:`factorspace.evidence.nb201`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from factorspace.evidence.nb201 import format_cell, parse_cell

PARAMETER_FREE = ("none", "skip_connect", "avg_pool_3x3")
"""The benchmark's operations without weights: a cell made of them is what a collapsed DARTS
search derives (all skip connections: 54.30 % on CIFAR-10)."""


@dataclass(frozen=True)
class Published:
    """One method's reported CIFAR-10 test accuracy (%) on NAS-Bench-201, and where from."""

    method: str
    cifar10: float
    source: str


PUBLISHED = (
    Published(
        "DARTS",
        54.30,
        "Dong & Yang, NAS-Bench-201 (ICLR 2020), Table 5, DARTS-V1 and -V2: 54.30 ± 0.00 (the "
        "all-skip cell; the table's own 54.2967); also DrNAS's Table 3",
    ),
    Published(
        "GDAS",
        93.61,
        "Dong & Yang, NAS-Bench-201 (ICLR 2020), Table 5: 93.61 ± 0.09 (not re-checked against "
        "the paper's text here: no copy was reachable; issue 25 quotes about 93.5)",
    ),
    Published(
        "DrNAS",
        94.36,
        "Chen et al., DrNAS (ICLR 2021), Table 3 and its authors' README: 94.36 ± 0.00",
    ),
)


def parameter_free_edges(cell: str | Sequence[str]) -> int:
    """How many of a cell's six edges carry no weights (``none``, ``skip_connect``,
    ``avg_pool_3x3``): 6 for the all-skip cell DARTS collapses to."""
    ops = parse_cell(cell if isinstance(cell, str) else format_cell(cell))  # checked either way
    return sum(op in PARAMETER_FREE for op in ops)
