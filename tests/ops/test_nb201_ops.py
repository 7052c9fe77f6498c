"""NAS-Bench-201's weighted 3x3 average pool (a box filter) against torch's ``avg_pool2d``."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from factorspace.ops.nb201 import is_box_pool, weighted_box_pool


def reference(x, w):
    out = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    return out if w is None else w * out


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("with_weight", [True, False])
def test_box_pool_equals_avg_pool_with_every_gradient(layout, with_weight):
    torch.manual_seed(0)
    x = torch.randn(3, 5, 7, 6, dtype=torch.float64).contiguous(memory_format=layout)
    x.requires_grad_()
    w = torch.tensor(-0.7, dtype=torch.float64, requires_grad=True) if with_weight else None
    inputs = [x] + ([w] if with_weight else [])
    out, expected = weighted_box_pool(x, w), reference(x, w)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    assert out.is_contiguous(memory_format=layout)
    g = torch.randn_like(out)
    mine = torch.autograd.grad(out, inputs, g)
    theirs = torch.autograd.grad(expected, inputs, g)
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    small = x.detach()[:1, :2, :4, :3].contiguous(memory_format=layout).requires_grad_()
    assert torch.autograd.gradcheck(weighted_box_pool, (small, w))


def test_box_pool_in_float32_and_without_gradients():
    torch.manual_seed(1)
    x = torch.randn(2, 4, 5, 5)
    w = torch.tensor(0.3)
    torch.testing.assert_close(weighted_box_pool(x, w), reference(x, w))
    with torch.no_grad():
        torch.testing.assert_close(weighted_box_pool(x, None), reference(x, None))


def test_only_the_search_cells_pool_is_a_box_pool():
    assert is_box_pool(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False))
    for other in (
        nn.AvgPool2d(3, stride=1, padding=1),  # counts the padding
        nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        nn.AvgPool2d(5, stride=1, padding=2, count_include_pad=False),
        nn.MaxPool2d(3, stride=1, padding=1),
    ):
        assert not is_box_pool(other)
