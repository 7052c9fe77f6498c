"""What the figures read from a run directory: architecture records, metrics, kept edges, seeds.

Plain data, no drawing (so no matplotlib): :mod:`factorspace.viz.plots` draws what these return.
The files are those a search writes (see :mod:`factorspace.search.loop`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml

from factorspace.errors import FactorspaceError
from factorspace.genotype import CELL_TYPES, Genotype, load_genotype
from factorspace.registry import OPERATORS
from factorspace.run.rundir import RunDir, seed_runs


def load_arch_records(run_dir: Path | str) -> list[dict]:
    """Every ``arch/epoch_NNN.json`` of a run, in epoch order.

    Raises:
        FactorspaceError: when the run has no ``arch/`` records.
    """
    run_dir = Path(run_dir)
    files = RunDir(run_dir).arch_records()
    if not files:
        raise FactorspaceError(
            f"{run_dir}: no arch/epoch_NNN.json records; is it a search run directory?"
        )
    return [_read_json(f) for f in files]


def load_metrics(run_dir: Path | str) -> list[dict]:
    """The rows of ``metrics.jsonl`` (one per epoch).

    Raises:
        FactorspaceError: when the run has no metrics.
    """
    path = RunDir(run_dir).metrics_jsonl
    if not path.is_file():
        raise FactorspaceError(f"{Path(run_dir)}: no metrics.jsonl; is it a search run directory?")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                raise FactorspaceError(f"{path}:{n}: not a JSON line ({e})") from None
    return rows


def kept_edges(run_dir: Path, record: dict) -> dict[str, set[int]]:
    """Cell type -> the rows of ``record["edges"]`` that the genotype of its epoch keeps
    (``genotypes/epoch_NNN.json``, else ``genotype.json``; none if neither exists)."""
    paths = RunDir(run_dir)
    path = paths.epoch_genotype(record["epoch"])
    path = path if path.is_file() else paths.genotype
    if not path.is_file():
        return {cell: set() for cell in record_cells(record)}
    genotype = load_genotype(path)
    rows = {tuple(e): k for k, e in enumerate(record["edges"])}
    return {
        cell: {rows[(e.source, e.target)] for e in edges.edges}
        for cell, edges in genotype.cells().items()
    }


def record_cells(record: dict) -> list[str]:
    """The cell types of an arch record, in its order (DARTS: normal, reduce; NB201: normal)."""
    return [cell for cell in CELL_TYPES if cell in record["weights"]]


def seed_frequencies(parent: Path | str) -> tuple[dict[str, dict[str, Counter]], dict, int]:
    """Count, over the runs under ``parent``, how often each choice of each factor was kept.

    Returns:
        ``(counts, choices, runs)``: factor -> cell type -> Counter of choices over the kept
        edges; factor -> its choices in recipe order, less the zero operator (``none``, never
        kept); the number of runs counted. Factors with one choice are left out.

    Raises:
        FactorspaceError: when ``parent`` holds no run directory with a genotype.json.
    """
    parent = Path(parent)
    runs = seed_runs(parent) if parent.is_dir() else []
    if not runs:
        raise FactorspaceError(
            f"{parent}: no run directories with a genotype.json under it (expected seed_0/, ...)"
        )
    space = yaml.safe_load(RunDir(runs[0]).recipe.read_text())["space"]
    factors = space["factors"]
    keeps_zero = (space.get("cell") or {}).get("kind", "darts") != "darts"  # nb201 keeps `none`
    choices = {
        f["name"]: [
            str(c)
            for c in f["choices"]
            if keeps_zero or not (f["role"] == "operator" and _is_zero(c))
        ]
        for f in factors
        if len(f["choices"]) > 1
    }
    cells = load_genotype(RunDir(runs[0]).genotype).cell_types
    counts = {f: {cell: Counter() for cell in cells} for f in choices}
    for run in runs:
        genotype = load_genotype(RunDir(run).genotype)
        for factor in factors:
            if factor["name"] in counts:
                _count(genotype, factor, counts[factor["name"]])
    return counts, choices, len(runs)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise FactorspaceError(f"{path}: not JSON ({e})") from None


def _is_zero(op: str) -> bool:
    return op in OPERATORS and "zero" in OPERATORS.get(op).tags


def _count(genotype: Genotype, factor: dict, counts: dict[str, Counter]) -> None:
    """Add the choice ``factor`` took on each kept edge of ``genotype`` to ``counts``."""
    for cell, spec in genotype.cells().items():
        for edge in spec.edges:
            if factor["role"] == "operator":
                value = edge.op
            elif factor["role"] == "input":
                value = edge.inputs.get(factor["name"])
            else:
                value = edge.arguments.get(factor.get("keyword") or factor["name"])
            if value is not None:
                counts[cell][str(value)] += 1
