"""perturbation: DARTS-PT's selection on a tiny supernet, its decisions recomputed here from the
description (mask one choice, score the supernet in training mode, keep the choice whose
removal costs most; drop a node's least useful inputs), per factor and in the joint mode."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from factorspace.compile import compile_supernet
from factorspace.errors import FactorspaceError
from factorspace.registry import OPERATORS
from factorspace.schema import SearchConfig, SpaceConfig, SupernetConfig, WeightOptimizer
from factorspace.search.selecting import selected_genotype
from factorspace.select import SelectionRun, run_selection
from factorspace.select.base import Projection

TINY = SupernetConfig(channels=4, cells=2, reduction_cells=[1], classes=10)


def space(mode: str) -> SpaceConfig:
    """Four operators, two activations (no rrelu: the manual scores below are deterministic in
    training mode without the shared seed), two nodes."""
    return SpaceConfig.model_validate(
        {
            "mode": mode,
            "factors": [
                {
                    "name": "op",
                    "role": "operator",
                    "choices": ["none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"],
                },
                {
                    "name": "activation",
                    "role": "input",
                    "choices": ["relu", "elu"],
                    "applies_to": {"tags": ["parameterized"]},
                },
            ],
            "cell": {"nodes": 2, "keep": 2},
        }
    )


def setup(mode="factorized", criterion="accuracy", tune_epochs=2, topology=True, **search):
    config = SearchConfig.model_validate(
        {
            "selection": {"kind": "perturbation", "criterion": criterion, "topology": topology},
            **search,
        }
    )
    config = config.model_copy(
        update={"selection": config.selection.model_copy(update={"tune_epochs": tune_epochs})}
    )
    torch.manual_seed(0)
    net = compile_supernet(space(mode), TINY, "cpu", config)
    with torch.no_grad():  # distinct weights, so that masks matter
        for p in net.arch.parameters():
            p.normal_(0, 1)
    torch.manual_seed(1)
    batch = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
    tuned = []
    run = SelectionRun(
        net,
        seed=0,
        weights_config=WeightOptimizer(),
        val_batches=lambda n: [batch],
        tune_epoch=lambda opt, i: tuned.append((i, opt.param_groups[0]["lr"])) or {},
        evaluate=lambda: (0.0, 0.0),
    )
    return net, run, config, batch, tuned


def manual_score(net, batch, weights_fn):
    """Accuracy and loss of ``net`` whose forward weights ``weights_fn(cell, group, probs)``
    gives, in training mode, the BatchNorm statistics put back."""
    saved = [b.clone() for b in net.buffers()]

    def hook(weights):
        from factorspace.relax import ForwardWeights

        return {
            t: {g: ForwardWeights(weights_fn(t, g, F.softmax(net.arch[t][g], -1))) for g in ws}
            for t, ws in weights.items()
        }

    net.projection, net.training = hook, True
    net.train()
    with torch.no_grad():
        logits = net(batch[0])
    net.projection = None
    for b, v in zip(net.buffers(), saved, strict=True):
        b.copy_(v)
    return float((logits.argmax(-1) == batch[1]).float().mean()), float(
        F.cross_entropy(logits, batch[1])
    )


def test_the_first_decision_masks_each_operation_and_keeps_the_costliest():
    net, run, config, batch, _ = setup()
    state = {g: p.detach().clone() for g, p in net.arch["normal"].items()}
    projection = run_selection(run, config)
    first = run.records["perturbation"]["decisions"][0]
    assert (first["cell"], first["group"]) == ("normal", "op")
    for g, p in net.arch["normal"].items():  # the fake fine-tuning left the logits alone
        torch.testing.assert_close(p, state[g])
    k = first["edge"]
    accuracies = []
    for c in range(len(net.space.groups["op"])):

        def masked(t, g, probs, c=c):
            probs = probs.clone()
            if (t, g) == ("normal", "op"):
                probs[k, c] = 0.0
            return probs

        accuracies.append(manual_score(net, batch, masked)[0])
    # the lowest accuracy when masked, the first of equal ones
    expected = min(range(len(accuracies)), key=lambda c: (accuracies[c], c))
    assert projection.fixed[("normal", "op", k)] == expected
    assert [s["accuracy"] for s in first["masked"].values()] == pytest.approx(accuracies)


def test_every_edge_is_decided_per_factor_then_the_topology():
    net, run, config, batch, tuned = setup()
    projection = run_selection(run, config)
    ops = net.space.config.operator.choices
    for t in ("normal", "reduce"):
        for k in range(5):
            op = ops[projection.fixed[(t, "op", k)]]
            parameterized = "parameterized" in OPERATORS.get(op).tags
            # the activation is decided exactly where it applies to the chosen operation
            assert ((t, "activation", k) in projection.fixed) == parameterized
        # node 3 (edges 2, 3, 4 from nodes 0, 1, 2) keeps two inputs; node 2 has only two
        assert len(projection.removed[t]) == 1 and projection.removed[t] <= {2, 3, 4}
    # six rounds (five edges, one node), two epochs of fine-tuning between two, at lr / 10
    assert tuned == [(i, pytest.approx(0.005)) for i in range(10)]
    genotype = selected_genotype(net, projection)
    for t in ("normal", "reduce"):
        cell = getattr(genotype, t)
        kept = [
            k for k, (s, d) in enumerate(net.space.edge_list()) if k not in projection.removed[t]
        ]
        edges = {(e.source, e.target): e for e in cell.edges}
        for k in kept:
            source, target = net.space.edge_list()[k]
            decided = ops[projection.fixed[(t, "op", k)]]
            if decided != "none":  # a kept `none` edge: DARTS's rule never derives none
                assert edges[(source, target)].op == decided


def test_the_topology_drops_the_input_whose_removal_scores_best():
    net, run, config, batch, _ = setup(criterion="loss")
    projection = run_selection(run, config)
    decided = dict(projection.fixed)
    node = next(d for d in run.records["perturbation"]["decisions"] if "node" in d)
    assert node["cell"] == "normal"

    def projected(t, g, probs, drop=None):
        probs = probs.clone()
        for (tt, gg, k), c in decided.items():
            if (tt, gg) == (t, g):
                probs[k] = 0.0
                probs[k, c] = 1.0
        if drop is not None and (t, g) == ("normal", "op"):
            probs[drop] = 0.0
        return probs

    losses = {
        e: manual_score(net, batch, lambda t, g, p, e=e: projected(t, g, p, e))[1]
        for e in (2, 3, 4)
    }
    # the lowest loss without it, the last of equal ones
    dropped = max((2, 3, 4), key=lambda e: (-losses[e], e))
    assert node["dropped_edges"] == [dropped] and projection.removed["normal"] == {dropped}


def test_the_joint_mode_decides_one_candidate_per_edge():
    net, run, config, _, tuned = setup(mode="joint", tune_epochs=0)
    projection = run_selection(run, config)
    assert {g for _, g, _ in projection.fixed} == {"joint"}
    assert len(projection.fixed) == 10 and tuned == []
    assert projection.pruning_group == "joint" and all(
        len(r) == 1 for r in projection.removed.values()
    )


def test_a_sampling_relaxation_is_refused_before_the_search():
    from factorspace.select import check_selection

    config = SearchConfig.model_validate(
        {"selection": {"kind": "perturbation"}, "relaxation": {"kind": "gumbel"}}
    )
    net = compile_supernet(space("factorized"), TINY, "cpu", config)
    with pytest.raises(FactorspaceError, match="selection_overrides.op.kind=argmax"):
        check_selection(net, config, distributed=False)


def test_argmax_everywhere_decides_nothing():
    net, run, _, _, _ = setup()
    projection = run_selection(run, SearchConfig())
    assert isinstance(projection, Projection) and not projection


def test_without_topology_darts_rule_ranks_the_inputs_by_their_weights():
    net, run, config, _, _ = setup(topology=False)
    projection = run_selection(run, config)
    assert not any(projection.removed.values())
    genotype = selected_genotype(net, projection)
    probs = F.softmax(net.arch["normal"]["op"].detach(), -1)
    # node 3's inputs (edges 2, 3, 4): DARTS's strength, the largest weight but none's, unless
    # the decision was none (then nothing of it is kept); the two strongest, earlier on ties
    strength = {
        k: 0.0 if projection.fixed[("normal", "op", k)] == 0 else float(probs[k, 1:].max())
        for k in (2, 3, 4)
    }
    kept = sorted((2, 3, 4), key=lambda k: -strength[k])[:2]
    sources = [e.source for e in genotype.normal.edges if e.target == 3]
    assert sources == [net.space.edge_list()[k][0] for k in kept]
