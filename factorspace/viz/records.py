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


def epoch_genotype(run_dir: Path, epoch: int) -> Genotype | None:
    """The genotype derived after ``epoch`` (``genotypes/epoch_NNN.json``, which a search writes
    every epoch, else ``genotype.json``); None if the run has neither."""
    paths = RunDir(run_dir)
    path = paths.epoch_genotype(epoch)
    path = path if path.is_file() else paths.genotype
    return load_genotype(path) if path.is_file() else None


def kept_edges(run_dir: Path, record: dict) -> dict[str, set[int]]:
    """Cell type -> the rows of ``record["edges"]`` that the genotype of its epoch keeps
    (``genotypes/epoch_NNN.json``, else ``genotype.json``; none if neither exists)."""
    return {cell: set(rows) for cell, rows in kept_choices(run_dir, record).items()}


def kept_choices(run_dir: Path, record: dict) -> dict[str, dict[int, dict[str, int | None]]]:
    """What derivation kept, as positions in ``record``: cell type -> kept edge's row -> group ->
    the column of the choice it took (None where the group does not apply to the kept operator,
    e.g. an activation on skip_connect). The genotype of the record's epoch is read
    (:func:`epoch_genotype`): its family's rule (DARTS's: never ``none``, ``cell.keep`` edges a
    node; NB201's: every edge, ``none`` too)."""
    genotype = epoch_genotype(Path(run_dir), record["epoch"])
    if genotype is None:
        return {cell: {} for cell in record_cells(record)}
    keywords = _argument_keywords(Path(run_dir))
    rows = {tuple(e): k for k, e in enumerate(record["edges"])}
    return {
        cell: {
            rows[(e.source, e.target)]: {
                group: _column(e, group, names, keywords)
                for group, names in record["choices"].items()
            }
            for e in spec.edges
            if (e.source, e.target) in rows
        }
        for cell, spec in genotype.cells().items()
    }


def run_family(run_dir: Path) -> str:
    """The run's cell family, as its recipe records it (``space.cell.kind``; absent: darts)."""
    try:
        space = yaml.safe_load(RunDir(run_dir).recipe.read_text())["space"]
        return (space.get("cell") or {}).get("kind", "darts")
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return "darts"


def record_cells(record: dict) -> list[str]:
    """The cell types of an arch record, in its order (DARTS: normal, reduce; NB201: normal)."""
    return [cell for cell in CELL_TYPES if cell in record["weights"]]


def _column(edge, group: str, names: list[str], keywords: dict[str, str]) -> int | None:
    """Where ``edge``'s choice of ``group`` is among ``names`` (None if it made none)."""
    arguments = [str(v) for v in edge.arguments.values()]
    candidates = (
        edge.op,  # the operator factor
        "|".join([edge.op, *arguments, *edge.inputs.values()]),  # the joint mode's candidate
        edge.inputs.get(group),
        edge.arguments.get(keywords.get(group, group)),
    )
    for value in candidates:
        if value is not None and str(value) in names:
            return names.index(str(value))
    return None


def _argument_keywords(run_dir: Path) -> dict[str, str]:
    """Argument factor -> the constructor keyword a genotype records it by (the run's recipe)."""
    try:
        factors = yaml.safe_load(RunDir(run_dir).recipe.read_text())["space"]["factors"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return {}
    return {
        f["name"]: f.get("keyword") or f["name"] for f in factors if f.get("role") == "argument"
    }


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
