"""auxiliary_skip: DARTS-'s decaying skip connection on every edge, outside every softmax, as
the reference code's MixedOp (identity, or FactorizedReduce on a stride-2 edge) and its
DecayScheduler (linear, cosine)."""

from __future__ import annotations

import math

import pytest
import torch

from factorspace.compile.edge import FactorizedEdge
from factorspace.ops import FactorizedReduce
from tests.regularize.conftest import tiny_net


@pytest.mark.parametrize(
    ("settings", "epoch", "beta"),
    [
        ({}, 0, 1.0),
        ({}, 1, 0.75),  # linear over the search's 4 epochs: (4 - 1) / 4
        ({"decay": "cosine"}, 1, (1 + math.cos(math.pi / 4)) / 2),
        ({"decay_epochs": 2, "beta": 0.5}, 1, 0.25),
        ({"decay_epochs": 2}, 3, 0.0),  # past T: 0
    ],
)
def test_beta_decays_as_the_reference_scheduler(settings, epoch, beta):
    net = tiny_net(regularizers=[{"kind": "auxiliary_skip", **settings}])
    net.set_epoch(epoch, 4)
    assert net.regularization.edge[0].beta == pytest.approx(beta)


def test_every_edge_adds_beta_times_its_skip(batch):
    net = tiny_net(regularizers=[{"kind": "auxiliary_skip"}])
    net.set_epoch(1, 4)  # beta 0.75
    net.eval()  # deterministic: rrelu's slope, BatchNorm's statistics
    edges = net.mixed_edges()
    assert len(edges) == 2 * 5  # two cells of five edges
    weights = net.forward_weights()
    for cell in net.cells:
        w = weights["reduce" if cell.reduction else "normal"]
        for k, edge in enumerate(cell.edges):
            assert isinstance(edge, FactorizedEdge)  # the factorized edge itself, unwrapped
            x = torch.randn(2, edge.channels, 8, 8)
            values = {g: fw.values[k] for g, fw in w.items()}
            mixed = edge.forward(x, values)  # forward() itself skips the hook
            if edge.stride == 1:
                assert not hasattr(edge, "auxiliary_skip")
                skip = x  # the identity, once per edge whatever the activations
            else:
                assert isinstance(edge.auxiliary_skip, FactorizedReduce)
                assert edge.auxiliary_skip.bn.affine is False
                skip = edge.auxiliary_skip(x)
            torch.testing.assert_close(edge(x, values), mixed + 0.75 * skip)


def test_the_reduction_skips_are_weights_trained_by_the_weight_step():
    net = tiny_net(regularizers=[{"kind": "auxiliary_skip"}])
    plain = tiny_net()
    added = {n for n, _ in net.named_parameters()} - {n for n, _ in plain.named_parameters()}
    assert added and all(".auxiliary_skip." in n for n in added)
    stride2 = [e for e, _, s in net.mixed_edges() if s == 2]
    assert len(stride2) == 4  # the reduction cell's edges from its two inputs (two nodes)
    weights = {id(p) for p in net.weight_parameters()}
    assert all(id(p) in weights for e in stride2 for p in e.auxiliary_skip.parameters())


def test_at_beta_zero_the_supernet_is_the_plain_one(batch):
    net, plain = tiny_net(regularizers=[{"kind": "auxiliary_skip"}]), tiny_net()
    plain.load_state_dict(net.state_dict(), strict=False)
    net.set_epoch(4, 4)
    net.eval(), plain.eval()
    torch.testing.assert_close(net(batch[0]), plain(batch[0]))


def test_under_partial_channels_the_skip_spans_every_channel():
    from factorspace.compile import compile_supernet
    from factorspace.compile.partial import PartialEdge
    from factorspace.schema import SearchConfig, SupernetConfig
    from tests.conftest import paper_space

    config = SupernetConfig(channels=8, cells=2, reduction_cells=[1], partial_channels=2)
    search = SearchConfig.model_validate({"regularizers": [{"kind": "auxiliary_skip"}]})
    net = compile_supernet(paper_space(nodes=2), config, "cpu", search)
    edges = net.mixed_edges()
    assert all(isinstance(e, PartialEdge) for e, _, _ in edges)
    assert {c for e, c, s in edges if s == 2} == {16}  # the reduction cell's 2C channels
