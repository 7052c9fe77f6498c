"""The NB201 search supernet against the benchmark authors' (xautodl's ``TinyNetworkDarts`` and
``TinyNetworkGDAS``): in fp64, with the same weights, the same logits and every gradient."""

from __future__ import annotations

import pytest
import torch

from factorspace.compile import compile_supernet, nb201
from factorspace.ops.nb201 import weighted_box_pool
from factorspace.schema import Recipe

from ..nb201_reference import NB201_OPS, copy_to_xautodl, gradients, require_xautodl, xautodl_name

KERNEL_SPACE = [
    {"name": "op", "role": "operator", "choices": ["none", "skip_connect", "nor_conv", "avg_pool_3x3"]},
    {"name": "kernel", "role": "argument", "keyword": "kernel_size", "choices": [1, 3],
     "applies_to": {"choices": ["nor_conv"]}},
]  # fmt: skip
FIVE_OPS = [{"name": "op", "role": "operator", "choices": NB201_OPS}]


def recipe(factors, channels: int, n: int, relaxation: str = "softmax") -> Recipe:
    return Recipe.model_validate(
        {
            "space": {"mode": "joint", "factors": factors, "cell": {"kind": "nb201"}},
            "supernet": {"kind": "nb201", "channels": channels, "cells_per_stage": n},
            "search": {"relaxation": {"kind": relaxation}},
            "data": {"image_size": 8},
        }
    )


def pair(reference, r: Recipe, seed: int = 0):
    """Our supernet and xautodl's, fp64, the same weights (ours, copied by name)."""
    torch.manual_seed(seed)
    ours = compile_supernet(r.space, r.supernet, search=r.search).double()
    with torch.no_grad():  # architecture logits far from uniform, so a wrong mix shows
        ours.arch["normal"]["joint"].normal_()
    c, n = r.supernet.channels, r.supernet.cells_per_stage
    model = reference[
        "TinyNetworkGDAS" if r.search.relaxation.kind == "gumbel" else "TinyNetworkDarts"
    ]
    theirs = model(c, n, 4, 10, NB201_OPS, False, False).double()
    copy_to_xautodl(ours, theirs)
    return ours, theirs


def assert_same_gradients(ours, theirs) -> None:
    mine = gradients(ours, lambda n: xautodl_name(n, NB201_OPS))
    reference = gradients(theirs)
    assert sorted(mine) == sorted(reference)
    for name, g in reference.items():
        torch.testing.assert_close(mine[name], g, rtol=1e-9, atol=1e-12, msg=name)


def assert_same_logits_and_gradients(ours, theirs, x, y) -> None:
    """Equal logits on ``x`` and, after a cross-entropy backward on ``y``, equal gradients."""
    logits = ours(x)
    _, expected = theirs(x)
    torch.testing.assert_close(logits, expected, rtol=1e-10, atol=1e-12)
    torch.nn.functional.cross_entropy(logits, y).backward()
    torch.nn.functional.cross_entropy(expected, y).backward()
    assert_same_gradients(ours, theirs)


@pytest.mark.parametrize(
    ("factors", "channels", "n"),
    [(FIVE_OPS, 4, 1), (FIVE_OPS, 6, 2), (KERNEL_SPACE, 4, 1)],
    ids=["5ops-C4-N1", "5ops-C6-N2", "kind-x-kernel-joint-C4-N1"],
)
def test_softmax_supernet_is_xautodls_darts_model(factors, channels, n):
    reference = require_xautodl()
    ours, theirs = pair(reference, recipe(factors, channels, n))
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 10, (4,))
    assert_same_logits_and_gradients(ours, theirs, x, y)


def test_gumbel_supernet_is_xautodls_gdas_model():
    """The same Gumbel draws (the same seed before each forward: both draw them first, edges x
    operations) give the same hard weights, logits and gradients, at GDAS's first temperature."""
    reference = require_xautodl()
    ours, theirs = pair(reference, recipe(FIVE_OPS, 4, 2, "gumbel"))
    ours.set_epoch(3, 10)  # tau falls linearly from 10 to 0.1 (GDAS's schedule)
    tau = 10 - (10 - 0.1) * 3 / 9
    theirs.set_tau(tau)
    assert ours.relaxations["joint"].tau == pytest.approx(tau)
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 10, (4,))
    torch.manual_seed(7)
    logits = ours(x)
    torch.manual_seed(7)
    _, expected = theirs(x)
    torch.testing.assert_close(logits, expected, rtol=1e-10, atol=1e-12)
    torch.nn.functional.cross_entropy(logits, y).backward()
    torch.nn.functional.cross_entropy(expected, y).backward()
    assert_same_gradients(ours, theirs)
    untouched = [n for n, p in ours.named_parameters() if p.grad is None]
    assert untouched, "GDAS computes the sampled operation of each edge only"


def test_channels_last_supernet_is_xautodls_darts_model(monkeypatch):
    """The layout a search runs in (channels_last from 8 channels on): the box-filter pool (here
    at every size), the shared ReLU and torch's BatchNorm give xautodl's logits and gradients."""
    reference = require_xautodl()
    calls = []

    def box_pool(x, w):
        calls.append(x.shape)
        return weighted_box_pool(x, w)

    monkeypatch.setattr(nb201, "BOX_POOL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(nb201, "weighted_box_pool", box_pool)
    ours, theirs = pair(reference, recipe(FIVE_OPS, 8, 1))
    cl = torch.channels_last
    ours, theirs = ours.to(memory_format=cl), theirs.to(memory_format=cl)
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64).contiguous(memory_format=cl)
    y = torch.randint(0, 10, (4,))
    assert_same_logits_and_gradients(ours, theirs, x, y)
    assert len(calls) == 3 * 6  # every edge's pool: one cell per stage, six edges each


def test_each_edge_computes_one_relu_for_both_convolutions():
    """nor_conv_1x1 and nor_conv_3x3 start with the same ReLU of the edge's input: one per edge
    and pass (xautodl computes two)."""
    reference = require_xautodl()
    ours, theirs = pair(reference, recipe(FIVE_OPS, 4, 1))
    counts = {"ours": 0, "theirs": 0}

    def counter(side):
        def hook(module, inputs, output):
            counts[side] += 1

        return hook

    for side, net in (("ours", ours), ("theirs", theirs)):
        for m in net.cells.modules():
            if type(m) is torch.nn.ReLU:
                m.register_forward_hook(counter(side))
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    ours(x), theirs(x)
    edges = 3 * 6  # one cell per stage, six edges each
    blocks = 2 * 2  # two residual blocks, a ReLU before each of their convolutions
    assert counts == {"ours": edges + blocks, "theirs": 2 * edges + blocks}
