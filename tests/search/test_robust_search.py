"""The fixes for collapse in a real (tiny) search: the three regularizers together resume
mid-epoch to the uninterrupted run, and DARTS-PT's selection ends a search with its decisions
recorded and its genotype."""

from __future__ import annotations

import json

import pytest

from factorspace.genotype import load_genotype
from factorspace.registry import OPERATORS
from factorspace.search import Interrupted, search
from tests.search.tiny import (
    assert_same_alphas,
    final_alphas,
    interrupt_at,
    one_thread,
    tiny_recipe,
)

REGULARIZED = (
    "search.regularizers=[{kind: beta_decay, ramp_epochs: 2}, {kind: random_smoothing}, "
    "{kind: auxiliary_skip}]"
)


@pytest.mark.slow
def test_regularized_search_resumed_mid_epoch_matches_the_uninterrupted_one(tmp_path, monkeypatch):
    recipe = tiny_recipe(
        REGULARIZED, "search.regularizer_overrides.activation=[{kind: beta_decay}]"
    )
    with one_thread():
        reference = search(recipe, out=tmp_path / "reference", device="cpu")
    interrupt_at(monkeypatch, 13)  # epoch 2, step 3: beta_decay's lambda and the skip's beta moved
    with one_thread(), pytest.raises(Interrupted):
        search(recipe, out=tmp_path / "run", device="cpu")
    monkeypatch.undo()
    with one_thread():
        resumed = search(recipe, out=tmp_path / "run", device="cpu", resume=True)
    assert_same_alphas(final_alphas(resumed.run_dir), final_alphas(reference.run_dir))
    assert (resumed.genotype.normal, resumed.genotype.reduce) == (
        reference.genotype.normal,
        reference.genotype.reduce,
    )


@pytest.mark.slow
def test_a_perturbation_search_records_its_decisions_and_derives_from_them(tmp_path):
    recipe = tiny_recipe(
        "search.epochs=1",
        "search.selection={kind: perturbation, tune_epochs: 1, eval_batches: 2}",
        "search.checkpoint_every_steps=null",
    )
    with one_thread():
        result = search(recipe, out=tmp_path / "run", device="cpu")
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["status"] == "complete"
    record = json.loads((result.run_dir / "selection.json").read_text())["perturbation"]
    ops = {
        (d["cell"], d["edge"]): d["choice"] for d in record["decisions"] if d.get("group") == "op"
    }
    assert len(ops) == 2 * 5  # every edge of both cells
    nodes = [d for d in record["decisions"] if "node" in d]
    assert [len(d["kept_edges"]) for d in nodes] == [2, 2]  # node 3 of each cell keeps two
    assert len(record["tuning"]) == 5  # one epoch between two of the six rounds
    assert len(result.metrics) == 1  # the fine-tuning is not the search's epochs
    saved = load_genotype(result.run_dir / "genotype.json")
    assert saved == result.genotype
    edge_list = [(j, i + 2) for i in range(2) for j in range(i + 2)]
    for node in nodes:  # the genotype keeps the edges the topology decisions kept
        cell = getattr(saved, node["cell"])
        into_3 = [edge_list.index((e.source, e.target)) for e in cell.edges if e.target == 3]
        assert sorted(into_3) == sorted(node["kept_edges"])
    for cell in ("normal", "reduce"):
        for e in getattr(saved, cell).edges:
            decided = ops[(cell, edge_list.index((e.source, e.target)))]
            if decided != "none":
                assert e.op == decided
            if "parameterized" in OPERATORS.get(e.op).tags and decided == e.op:
                act = next(
                    d["choice"]
                    for d in record["decisions"]
                    if d.get("group") == "activation"
                    and (d["cell"], d["edge"]) == (cell, edge_list.index((e.source, e.target)))
                )
                assert e.inputs["activation"] == act
