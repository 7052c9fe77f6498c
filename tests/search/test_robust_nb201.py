"""The fixes for collapse on NAS-Bench-201's cell family: one cell type shared by all cells,
every edge kept, `none` derivable. Each runs a tiny NB201 search to its looked-up cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.search import search
from tests.search.tiny import one_thread

TINY = Path(__file__).with_name("nb201_tiny.yaml")
LOOKUP = "nb201_cifar10"


def recipe(*overrides: str) -> fs.Recipe:
    return fs.load_recipe(TINY, [*overrides, "search.checkpoint_every_steps=null"])


def test_the_regularizers_act_on_the_one_cell_type():
    r = recipe(
        "search.regularizers=[{kind: beta_decay}, {kind: random_smoothing}, {kind: auxiliary_skip}]"
    )
    net = compile_supernet(r.space, r.supernet, "cpu", r.search)
    assert list(net.arch) == ["normal"] and set(net.regularization.groups) == {"op", "kernel"}
    edges = net.mixed_edges()
    assert len(edges) == 6 * 3  # six edges in each of the three cells (one per stage)
    assert all(s == 1 and not hasattr(e, "auxiliary_skip") for e, _, s in edges)  # identities
    net.set_epoch(20, 50)  # lambda 10
    with torch.no_grad():
        net.arch["normal"]["op"].zero_()
        net.arch["normal"]["kernel"].zero_()
    expected = 10 * (torch.log(torch.tensor(4.0)) + torch.log(torch.tensor(2.0)))
    torch.testing.assert_close(net.regularization_loss().detach(), expected)


@pytest.mark.slow
@pytest.mark.parametrize(
    "setting",
    [
        "search.regularizers=[{kind: beta_decay, ramp_epochs: 1}]",
        "search.regularizers=[{kind: random_smoothing}]",
        "search.regularizers=[{kind: auxiliary_skip}]",
        "search.early_stop=[{kind: hessian_eigenvalue, window: 1, lag: 1, start_epoch: 1}]",
    ],
)
def test_a_regularized_or_watched_nb201_search_ends_with_its_cells_lookup(setting, tmp_path):
    with one_thread():
        result = search(recipe(setting), out=tmp_path / "run", device="cpu")
    assert result.status in ("complete", "early_stopped")
    assert all(LOOKUP in row for row in result.metrics)


@pytest.mark.slow
def test_perturbation_selection_decides_every_nb201_edge_and_keeps_them_all(tmp_path):
    r = recipe(
        "search.epochs=1", "search.selection={kind: perturbation, tune_epochs: 1, eval_batches: 2}"
    )
    with one_thread():
        result = search(r, out=tmp_path / "run", device="cpu")
    record = json.loads((result.run_dir / "selection.json").read_text())["perturbation"]
    decisions = {d["edge"]: d for d in record["decisions"] if d["group"] == "op"}
    assert sorted(decisions) == list(range(6)) and all(
        d["cell"] == "normal" for d in decisions.values()
    )
    assert not [d for d in record["decisions"] if "node" in d]  # NB201 keeps every edge
    assert len(record["tuning"]) == 5
    edges = result.genotype.normal.edges
    assert len(edges) == 6
    for k, (source, target) in enumerate(r.space.cell.edge_list()):
        edge = next(e for e in edges if (e.source, e.target) == (source, target))
        assert edge.op == decisions[k]["choice"]  # `none` included: NB201 derives it
        kernels = [d for d in record["decisions"] if d["group"] == "kernel" and d["edge"] == k]
        assert bool(kernels) == (edge.op == "nor_conv")
        if kernels:
            assert edge.arguments["kernel_size"] == int(kernels[0]["choice"])
