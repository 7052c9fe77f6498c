"""search.early_stop: DARTS+'s stable ranking and RobustDARTS's DARTS-ES (the Hessian's dominant
eigenvalue, by power iteration), each checked against its description by hand."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.schema import SearchConfig, SpaceConfig, SupernetConfig
from factorspace.search.early_stop import (
    EarlyStopping,
    eigenvalue_stop,
    learnable_ranking,
    stop_after,
)
from factorspace.search.hessian import dominant_eigenvalue, power_iteration
from factorspace.space import Space
from tests.conftest import paper_space
from tests.search.tiny import tiny_recipe

RULE = {"kind": "hessian_eigenvalue", "window": 3, "lag": 2, "ratio": 0.75, "start_epoch": 2}


def rows_of(evs, every=1):
    return [
        {"epoch": e, **({"hessian_eigenvalue": v} if e % every == 0 else {})}
        for e, v in enumerate(evs, start=1)
    ]


def config(*rules, **more) -> SearchConfig:
    return SearchConfig.model_validate({"early_stop": list(rules), **more})


def test_darts_es_compares_centred_local_averages_lag_apart():
    rule = config(RULE).early_stop[0]
    # local averages (window 3, centred): epochs 2..5 of [1, 1, 1, 1, 2]: 1, 1, 1, 4/3
    assert eigenvalue_stop(rows_of([1, 1, 1, 1, 2]), rule) is None  # 1 / (4/3) = 0.75: not below
    # [1, 1, 1, 1, 3]: at epoch 4 (the last full average) 5/3; 2 back, epoch 2: 1 -> 0.6 < 0.75
    stop = eigenvalue_stop(rows_of([1, 1, 1, 1, 3]), rule)
    assert stop.epoch == 2 and "ratio 0.600 < 0.75" in stop.reason
    # not before start_epoch: epoch 2 is returned only from start_epoch 2 on
    late = config({**RULE, "start_epoch": 3}).early_stop[0]
    assert eigenvalue_stop(rows_of([1, 1, 1, 1, 3]), late) is None


def test_darts_es_on_eigenvalues_every_other_epoch():
    rule = config({**RULE, "every": 2}).early_stop[0]
    # computed at epochs 2, 4, 6, 8, 10: [1, 1, 1, 1, 3]; the returned epoch is computation 1's
    stop = eigenvalue_stop(rows_of([0, 1, 0, 1, 0, 1, 0, 1, 0, 3], every=2), rule)
    assert stop.epoch == 4


def test_the_short_local_averages_at_the_start_are_those_of_the_reference():
    # RobustDARTS's EVLocalAvg: the first averages are over what there is: [4, 1, 1] -> 2, 1.5...
    rule = config({**RULE, "window": 5, "lag": 1, "start_epoch": 1}).early_stop[0]
    # after 4 values the latest full one is index 1: mean(ev[0:4]) = 7/4 vs index 0: mean(ev[0:3]) = 2
    assert eigenvalue_stop(rows_of([4, 1, 1, 1]), rule) is None  # 2 / 1.75 > 0.75
    stop = eigenvalue_stop(rows_of([1, 1, 1, 9]), rule)  # 1 / 3 < 0.75
    assert stop.epoch == 1


def test_power_iteration_finds_the_largest_eigenvalue_also_when_negatives_dominate():
    a = torch.diag(torch.tensor([3.0, -1.0, 0.5], dtype=torch.float64))
    q, _ = torch.linalg.qr(
        torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    )
    sym = q @ a @ q.T
    start = [torch.ones(3, dtype=torch.float64)]
    assert power_iteration(lambda v: [sym @ v[0]], start, 500, 1e-12) == pytest.approx(3.0)
    # -5 dominates in magnitude: dominant_eigenvalue's shift finds 3 as the largest
    b = q @ torch.diag(torch.tensor([3.0, -5.0, 0.5], dtype=torch.float64)) @ q.T
    top = power_iteration(lambda v: [b @ v[0]], start, 500, 1e-12)
    assert top == pytest.approx(-5.0)
    shifted = power_iteration(lambda v: [b @ v[0] - top * v[0]], start, 500, 1e-12)
    assert top + shifted == pytest.approx(3.0)


def small_space():
    return SpaceConfig.model_validate(
        {
            "factors": [
                {
                    "name": "op",
                    "role": "operator",
                    "choices": ["none", "skip_connect", "sep_conv_3x3"],
                },
                {
                    "name": "activation",
                    "role": "input",
                    "choices": ["relu", "elu"],
                    "applies_to": {"tags": ["parameterized"]},
                },
            ],
            "cell": {"nodes": 2},
        }
    )


def test_the_hessian_eigenvalue_equals_the_full_hessians():
    torch.manual_seed(0)
    net = compile_supernet(
        small_space(),
        SupernetConfig(channels=4, cells=2, reduction_cells=[1], classes=10),
        "cpu",
    ).double()
    with torch.no_grad():  # spread logits: a spectrum with a gap, power iteration converges fast
        for p in net.arch.parameters():
            p.normal_(0, 1)
    x, y = torch.randn(8, 3, 8, 8, dtype=torch.float64), torch.randint(0, 10, (8,))
    params = list(net.arch.parameters())
    decays = [(p, 1e-3) for p in params]
    assert SupernetConfig().fused_activation  # the rule sees the default supernet's
    value = dominant_eigenvalue(net, decays, [(x, y)], iterations=500, tolerance=1e-12)

    # the full Hessian of the validation loss w.r.t. every architecture parameter, by autograd
    names = [n for n, _ in net.named_parameters() if n.startswith("arch.")]
    shapes = [p.shape for p in params]
    flat = torch.cat([p.detach().flatten() for p in params])

    def loss_of(vector):
        chunks = dict(zip(names, vector.split([s.numel() for s in shapes]), strict=True))
        replaced = {n: c.view(s) for (n, c), s in zip(chunks.items(), shapes, strict=True)}
        net.train()
        return F.cross_entropy(torch.func.functional_call(net, replaced, (x,)), y)

    buffers = [b.clone() for b in net.buffers()]
    with net.autograd_mixing():  # the fused mixed activation (the default) is once differentiable
        hessian = torch.autograd.functional.hessian(loss_of, flat)
    for b, v in zip(net.buffers(), buffers, strict=True):
        b.copy_(v)
    expected = torch.linalg.eigvalsh(hessian + 1e-3 * torch.eye(len(flat), dtype=torch.float64))
    assert value == pytest.approx(float(expected.max()), rel=1e-6)


def test_the_ranking_of_the_learnable_operations():
    space = Space(paper_space(nodes=2))  # ops: none, max, avg, skip, sep3, sep5, dil3, dil5
    w = torch.zeros(5, 8)
    w[:, 3] = 0.9  # skip first: not learnable, not ranked
    w[:, 7], w[:, 4] = 0.5, 0.4
    act = torch.zeros(5, 9)
    weights = {"normal": {"op": w, "activation": act}, "reduce": {"op": w, "activation": act}}
    ranking = learnable_ranking(space, weights)
    op_rows = [r for t, g, r in ranking if g == "op"]
    assert op_rows[0] == (3, 0, 1, 2)  # dil_conv_5x5, sep_conv_3x3, then sep_conv_5x5, dil_conv_3x3
    w2 = w.clone()
    w2[:, 3] = 0.1  # the skip-connect falls: the learnable ranking is the same
    same = {"normal": {"op": w2, "activation": act}, "reduce": {"op": w2, "activation": act}}
    assert learnable_ranking(space, same) == ranking


def test_stable_ranking_stops_after_its_epochs_past_the_warmup():
    cfg = config({"kind": "stable_ranking", "epochs": 3}, warmup_epochs=1, epochs=9)
    rows = [
        {"epoch": e, "normal_skip_count": 0, "ranking_stable_epochs": s}
        for e, s in enumerate([0, 1, 2], 1)
    ]
    assert stop_after(rows, 3, cfg) is None
    rows.append({"epoch": 4, "normal_skip_count": 0, "ranking_stable_epochs": 3})
    stop = stop_after(rows, 4, cfg)
    assert stop.epoch == 4 and "for 3 epochs" in stop.reason


@pytest.mark.slow
def test_a_frozen_architecture_stops_on_stable_ranking_and_resumes_stopped(tmp_path):
    recipe = tiny_recipe(
        "search.epochs=4",
        "search.early_stop=[{kind: stable_ranking, epochs: 2}]",
        "search.arch.frozen=true",
    )
    result = fs.search(recipe, out=tmp_path / "run", device="cpu")
    run = json.loads((result.run_dir / "run.json").read_text())
    assert result.status == run["status"] == "early_stopped" and run["early_stop_epoch"] == 3
    assert [r["ranking_stable_epochs"] for r in result.metrics] == [0, 1, 2]
    resumed = fs.search(recipe, out=result.run_dir, device="cpu", resume=True)
    assert resumed.status == "early_stopped" and len(resumed.metrics) == 3


@pytest.mark.slow
def test_darts_es_keeps_the_architecture_of_the_earlier_epoch(tmp_path, monkeypatch):
    evs = iter([1.0, 1.0, 5.0])
    monkeypatch.setattr(EarlyStopping, "_eigenvalue", lambda self, epoch, rule: next(evs))
    recipe = tiny_recipe(
        "search.epochs=4",
        "search.early_stop=[{kind: hessian_eigenvalue, window: 1, lag: 1, start_epoch: 1}]",
    )
    result = fs.search(recipe, out=tmp_path / "run", device="cpu")
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["status"] == "early_stopped" and run["early_stop_epoch"] == 2  # 1 / 5 < 0.75
    assert [r["hessian_eigenvalue"] for r in result.metrics] == [1.0, 1.0, 5.0]
    epoch_2 = fs.genotype.load_genotype(result.run_dir / "genotypes" / "epoch_002.json")
    assert result.genotype.normal == epoch_2.normal and result.genotype.reduce == epoch_2.reduce
