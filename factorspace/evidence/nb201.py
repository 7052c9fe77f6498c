"""NAS-Bench-201's table: the trained accuracy of every cell of its space, by lookup.

Every one of the 15,625 cells of the NAS-Bench-201 space (Dong & Yang, "NAS-Bench-201: Extending
the Scope of Reproducible Neural Architecture Search", ICLR 2020; the same space is NATS-Bench's
topology space, Dong et al., TPAMI 2021) was trained for 200 epochs on CIFAR-10, CIFAR-100 and
ImageNet16-120; the benchmark publishes the test accuracies. A search over that space, at any proxy
scale, ends with the true trained accuracy of the cell it derived: no re-training.

The table ships in the package as ``datasets/nb201_test_accuracy.csv.gz`` (provenance in
``datasets/PROVENANCE.md``); it is checked against the published sha256 of the uncompressed file
every time it is loaded.

A cell string reads ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: node ``i`` (1..3) sums one edge from
each earlier node ``j`` (``op~j``), node 0 is the cell's input and node 3 its output.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
import statistics
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from factorspace.errors import FactorspaceError, shown

OPERATIONS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""The benchmark's five operations, in its own order (``xautodl``'s search space)."""

NODES = 3
EDGES = tuple((j, i) for i in range(1, NODES + 1) for j in range(i))
"""``(source, target)`` of each edge, in the cell string's order: (0,1), (0,2), (1,2), (0,3)..."""

DATASETS = ("cifar10", "cifar100", "imagenet16_120")
DATASET_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16_120": "ImageNet16-120"}

TABLE_FILE = "nb201_test_accuracy.csv.gz"
TABLE_SHA256 = "5d64733e6915408060ee4ff6807f81834b324ae0530dcdbf3aa4a6bb950e39f2"
"""sha256 of the uncompressed CSV, as its source publishes it."""
CELLS = len(OPERATIONS) ** len(EDGES)  # 15,625
MAX_CELL_STRING = 200  # the longest cell string has 98 characters

CITATION = (
    "NAS-Bench-201 (Dong & Yang, ICLR 2020) / NATS-Bench topology space (Dong et al., TPAMI "
    "2021): test accuracy after 200 epochs, mean over the benchmark's trials"
)


@dataclass(frozen=True)
class NB201Record:
    """One cell of the benchmark and its test accuracies (%)."""

    index: int
    arch: str
    cifar10: float
    cifar100: float
    imagenet16_120: float

    def accuracy(self, dataset: str) -> float:
        return getattr(self, _dataset(dataset))


@dataclass(frozen=True)
class RandomCells:
    """The accuracy of a cell drawn uniformly from the 15,625, on one data set."""

    dataset: str
    mean: float
    std: float
    percentiles: dict[int, float]


def parse_cell(text: str) -> tuple[str, ...]:
    """The six operations of a cell string, in :data:`EDGES` order.

    Raises:
        FactorspaceError: when ``text`` is not a cell of the benchmark's space, saying where.
    """
    if not isinstance(text, str):
        raise FactorspaceError(f"an NB201 cell is a string, not {shown(text)}")
    stripped = text.strip()
    if len(stripped) > MAX_CELL_STRING:
        raise FactorspaceError(
            f"{shown(stripped)} has {len(stripped):,} characters; an NB201 cell string has at "
            f"most {MAX_CELL_STRING}"
        )
    nodes = stripped.split("+")
    if len(nodes) != NODES:
        raise _not_a_cell(stripped, f"{len(nodes)} node(s) separated by '+', expected {NODES}")
    ops: list[str] = []
    for i, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|") and len(node) > 1):
            raise _not_a_cell(stripped, f"node {i} ({shown(node)}) is not enclosed in '|'")
        entries = node[1:-1].split("|")
        if len(entries) != i:
            raise _not_a_cell(stripped, f"node {i} has {len(entries)} edge(s), expected {i}")
        for j, entry in enumerate(entries):
            op, sep, source = entry.partition("~")
            if not sep or source != str(j):
                raise _not_a_cell(
                    stripped, f"node {i}, edge {j + 1}: {shown(entry)} is not 'operation~{j}'"
                )
            if op not in OPERATIONS:
                raise _not_a_cell(
                    stripped,
                    f"node {i}: unknown operation {shown(op)}; the benchmark's are "
                    f"{', '.join(OPERATIONS)}",
                )
            ops.append(op)
    return tuple(ops)


def _not_a_cell(text: str, why: str) -> FactorspaceError:
    return FactorspaceError(
        f"{shown(text)} is not an NB201 cell string ({why}); a cell reads "
        "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
    )


def format_cell(ops: Sequence[str]) -> str:
    """The cell string of six operations given in :data:`EDGES` order (:func:`parse_cell`'s
    inverse)."""
    ops = tuple(ops)
    if len(ops) != len(EDGES) or any(op not in OPERATIONS for op in ops):
        raise FactorspaceError(
            f"an NB201 cell has {len(EDGES)} edges, each one of {', '.join(OPERATIONS)}; "
            f"got {shown(ops)}"
        )
    nodes: dict[int, list[str]] = {}
    for (source, target), op in zip(EDGES, ops, strict=True):
        nodes.setdefault(target, []).append(f"{op}~{source}")
    return "+".join("|" + "|".join(nodes[i]) + "|" for i in range(1, NODES + 1))


class NB201Table:
    """The 15,625 records, looked up by cell string (or its six operations)."""

    def __init__(self, records: Sequence[NB201Record]) -> None:
        self.records = tuple(records)
        self._by_arch = {r.arch: r for r in self.records}
        self._sorted = {d: sorted(r.accuracy(d) for r in self.records) for d in DATASETS}

    def __len__(self) -> int:
        return len(self.records)

    def lookup(self, cell: str | Sequence[str]) -> NB201Record:
        """The record of a cell string, or of six operations in :data:`EDGES` order."""
        arch = format_cell(parse_cell(cell) if isinstance(cell, str) else cell)
        return self._by_arch[arch]  # every well-formed cell is in the table (checked on load)

    def rank(self, cell: str | Sequence[str], dataset: str = "cifar10") -> int:
        """1 + the number of cells with a strictly higher accuracy on ``dataset`` (1: the best)."""
        value = self.lookup(cell).accuracy(dataset)
        accuracies = self._sorted[_dataset(dataset)]
        return 1 + len(accuracies) - bisect_right(accuracies, value)

    def top_share(self, cell: str | Sequence[str], dataset: str = "cifar10") -> float:
        """The cell's rank as a share of all cells, in % (the best cell: 100/15,625 = 0.0064 %)."""
        return 100.0 * self.rank(cell, dataset) / len(self)

    def best(self, dataset: str = "cifar10") -> NB201Record:
        """The cell with the highest accuracy on ``dataset`` (the first in index order on ties)."""
        return max(self.records, key=lambda r: r.accuracy(dataset))

    def random_cells(self, dataset: str = "cifar10") -> RandomCells:
        """Mean, standard deviation and percentiles of a uniformly drawn cell's accuracy."""
        values = self._sorted[_dataset(dataset)]
        return RandomCells(
            dataset=dataset,
            mean=statistics.fmean(values),
            std=statistics.pstdev(values),
            percentiles={p: _percentile(values, p) for p in (10, 25, 50, 75, 90, 99)},
        )

    def best_of_random(self, k: int, dataset: str = "cifar10") -> float:
        """The expected accuracy of the best of ``k`` uniform draws (with replacement), chosen by
        the same accuracy: an oracle, and so an upper bound for random search with ``k``
        trained cells. Exact: with accuracies sorted ``a_1 <= ... <= a_n``,
        ``E[max] = sum_i a_i ((i/n)^k - ((i-1)/n)^k)``."""
        if k < 1:
            raise FactorspaceError(f"best of {k} random cells: k must be at least 1")
        values = self._sorted[_dataset(dataset)]
        n = len(values)
        return sum(a * ((i / n) ** k - ((i - 1) / n) ** k) for i, a in enumerate(values, start=1))


def _percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    position = (len(sorted_values) - 1) * p / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise FactorspaceError(f"unknown NB201 data set {shown(dataset)}; one of {DATASETS}")
    return dataset


@functools.cache
def load_table() -> NB201Table:
    """The shipped table, verified: its checksum and 15,625 distinct cells.

    Cached per process: the table is immutable data.

    Raises:
        FactorspaceError: when the shipped file is damaged.
    """
    resource = resources.files("factorspace") / "datasets" / TABLE_FILE
    data = gzip.decompress(resource.read_bytes())
    return table_from_csv(data, source=str(resource))


def table_from_csv(data: bytes, source: str = TABLE_FILE) -> NB201Table:
    """The table from the CSV's bytes, after checking them against :data:`TABLE_SHA256`.

    The checksum fixes the content, so each cell string is not parsed again here: the tests check
    once that every string of the published file is a well-formed cell in canonical form.
    """
    digest = hashlib.sha256(data).hexdigest()
    if digest != TABLE_SHA256:
        raise FactorspaceError(
            f"{source}: sha256 {digest} is not the published {TABLE_SHA256}: the file is damaged; "
            "reinstall factorspace"
        )
    rows = csv.DictReader(io.StringIO(data.decode("utf-8")))
    records = [
        NB201Record(
            index=int(row["index"]),
            arch=row["arch"],
            cifar10=float(row["cifar10_test"]),
            cifar100=float(row["cifar100_test"]),
            imagenet16_120=float(row["imagenet16_120_test"]),
        )
        for row in rows
    ]
    if len({r.arch for r in records}) != CELLS or len(records) != CELLS:
        raise FactorspaceError(f"{source}: expected {CELLS:,} distinct cells")
    return NB201Table(records)
