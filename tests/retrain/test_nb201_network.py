"""The fixed network of an NB201 cell is the benchmark's (xautodl's ``TinyNetwork``): the same
parameters and, with the same weights, the same outputs, for cells with and without ``none``."""

from __future__ import annotations

import pytest
import torch

from factorspace.cells.nb201 import from_nb201_string
from factorspace.retrain import create_model
from factorspace.retrain.nb201 import build_nb201_network

from ..nb201_reference import copy_to_xautodl, require_xautodl

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
CELLS = [
    BEST,
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|none~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
    "|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",  # node 1 is zero, conv after it
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|",  # no path out
]  # fmt: skip


def test_the_best_cell_at_the_benchmarks_size_has_its_parameter_count():
    net = create_model(from_nb201_string(BEST))  # the benchmark's sizes: C16, N5, 10 classes
    assert sum(p.numel() for p in net.parameters()) == 1_073_466


@pytest.mark.parametrize("arch", CELLS, ids=range(len(CELLS)))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_fixed_network_is_xautodls_tiny_network(arch, training):
    reference = require_xautodl()
    torch.manual_seed(0)
    ours = build_nb201_network(from_nb201_string(arch), channels=4, cells_per_stage=2).double()
    theirs = reference["TinyNetwork"](4, 2, reference["Structure"].str2structure(arch), 10)
    theirs = theirs.double()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    if not training:  # running statistics away from their initial values
        with torch.no_grad():
            for m in ours.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
    copy_to_xautodl(ours, theirs)
    ours.train(training)
    theirs.train(training)
    x = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    _, expected = theirs(x)
    torch.testing.assert_close(ours(x), expected, rtol=1e-10, atol=1e-12)


def test_a_factorized_spaces_cell_builds_the_same_network():
    """``nor_conv`` with ``kernel_size`` 3 is ``nor_conv_3x3``: the same modules, the same count."""
    from factorspace.schema import SpaceConfig

    space = SpaceConfig.model_validate(
        {
            "factors": [
                {"name": "op", "role": "operator", "choices": ["none", "skip_connect", "nor_conv", "avg_pool_3x3"]},
                {"name": "kernel", "role": "argument", "keyword": "kernel_size", "choices": [1, 3],
                 "applies_to": {"choices": ["nor_conv"]}},
            ],
            "cell": {"kind": "nb201"},
        }
    )  # fmt: skip
    factorized = from_nb201_string(BEST, space=space)
    assert {e.op for e in factorized.normal.edges} == {"nor_conv", "skip_connect"}
    torch.manual_seed(0)
    a = build_nb201_network(factorized, channels=4, cells_per_stage=1)
    torch.manual_seed(0)
    b = build_nb201_network(from_nb201_string(BEST), channels=4, cells_per_stage=1)
    assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(a(x), b(x))
