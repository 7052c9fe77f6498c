"""What the plots read from a run: records in epoch order, kept edges, seeds and their counts."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from factorspace.errors import FactorspaceError
from factorspace.genotype import load_genotype, save_genotype
from factorspace.viz import records

OPS = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect"] + [
    f"{k}_conv_{s}x{s}" for k in ("sep", "dil") for s in (3, 5)
]


def test_arch_records_are_read_in_epoch_order(run_dir):
    epochs = [r["epoch"] for r in records.load_arch_records(run_dir)]
    assert epochs == [1, 2]


def test_kept_edges_are_the_genotypes(run_dir):
    last = records.load_arch_records(run_dir)[-1]
    kept = records.kept_edges(run_dir, last)
    genotype = load_genotype(run_dir / "genotypes" / "epoch_002.json")
    for cell in ("normal", "reduce"):
        edges = {(e.source, e.target) for e in getattr(genotype, cell).edges}
        assert {tuple(last["edges"][k]) for k in kept[cell]} == edges


def test_a_directory_without_records_says_so(tmp_path):
    with pytest.raises(FactorspaceError, match="no arch/epoch_NNN.json"):
        records.load_arch_records(tmp_path)
    with pytest.raises(FactorspaceError, match="no metrics.jsonl"):
        records.load_metrics(tmp_path)


def test_a_broken_metrics_line_is_named(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": \n')
    with pytest.raises(FactorspaceError, match=r"metrics.jsonl:2: not a JSON line"):
        records.load_metrics(tmp_path)


# --- several seeds -----------------------------------------------------------------------------


def seed_parent(run_dir: Path, parent: Path, n: int) -> list[Path]:
    """``parent/seed_0..n-1``: copies of the run's recipe and genotype; seed k > 0 has its first
    normal edge changed to skip_connect."""
    runs = []
    for k in range(n):
        seed = parent / f"seed_{k}"
        seed.mkdir(parents=True)
        shutil.copy(run_dir / "recipe.yaml", seed)
        g = load_genotype(run_dir / "genotype.json")
        if k:
            g.normal.edges[0] = g.normal.edges[0].model_copy(
                update={"op": "skip_connect", "inputs": {}}
            )
        save_genotype(g, seed / "genotype.json")
        runs.append(seed)
    return runs


def test_seed_frequencies_count_every_kept_edge(run_dir, tmp_path):
    runs = seed_parent(run_dir, tmp_path, 11)
    (tmp_path / "plots").mkdir()  # not a run: ignored
    assert records.seed_runs(tmp_path) == runs  # seed_10 after seed_9
    counts, choices, n = records.seed_frequencies(tmp_path)
    assert n == 11 and set(choices) == {"op", "activation"}
    assert choices["op"] == OPS[1:] and len(choices["activation"]) == 9  # never "none"
    expected = {f: {c: Counter() for c in ("normal", "reduce")} for f in ("op", "activation")}
    for seed in runs:
        g = load_genotype(seed / "genotype.json")
        for cell in ("normal", "reduce"):
            for e in getattr(g, cell).edges:
                expected["op"][cell][e.op] += 1
                if "activation" in e.inputs:
                    expected["activation"][cell][e.inputs["activation"]] += 1
    assert counts == expected
    assert counts["op"]["normal"]["skip_connect"] >= 10


def test_seed_frequencies_need_runs(tmp_path):
    (tmp_path / "seed_0").mkdir()
    with pytest.raises(FactorspaceError, match="no run directories"):
        records.seed_frequencies(tmp_path)


def test_metrics_rows_are_read_in_epoch_order(run_dir):
    rows = records.load_metrics(run_dir)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows == [
        json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]


def test_kept_choices_are_the_genotypes_never_none(run_dir):
    """Each kept edge's outlined column is its genotype's operator and activation (none where
    the operator takes no activation); the zero operator is never kept."""
    last = records.load_arch_records(run_dir)[-1]
    kept = records.kept_choices(run_dir, last)
    genotype = load_genotype(run_dir / "genotypes" / "epoch_002.json")
    names = last["choices"]
    for cell in ("normal", "reduce"):
        found = {
            tuple(last["edges"][row]): (
                names["op"][groups["op"]],
                None if groups["activation"] is None else names["activation"][groups["activation"]],
            )
            for row, groups in kept[cell].items()
        }
        assert found == {
            (e.source, e.target): (e.op, e.inputs.get("activation"))
            for e in getattr(genotype, cell).edges
        }
        assert "none" not in {op for op, _ in found.values()}
