"""The weighted sum's multiply folded into each operator's trailing BatchNorm."""

import copy

import pytest
import torch
from torch import nn

from factorspace.compile.edge import add_all, weighted
from factorspace.ops.primitives import FactorizedReduce, sep_conv


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("train", [True, False])
def test_folded_weight_equals_multiplying_the_output(train, momentum):
    torch.manual_seed(0)
    op = sep_conv(4, 3, 1, affine=False)
    op[-1].momentum = momentum
    op.train(train)
    ref = copy.deepcopy(op)
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    w = torch.tensor(0.3, requires_grad=True)
    w_ref = w.detach().clone().requires_grad_()

    out, expected = weighted(op, x, w), w_ref * ref(x_ref)
    torch.testing.assert_close(out, expected)
    g = torch.randn_like(out)
    out.backward(g)
    expected.backward(g)
    torch.testing.assert_close(w.grad, w_ref.grad)
    torch.testing.assert_close(x.grad, x_ref.grad)
    for name, buf in ref[-1].named_buffers():
        torch.testing.assert_close(op[-1].get_buffer(name), buf)


def test_operators_without_a_trailing_non_affine_bn_are_multiplied():
    torch.manual_seed(0)
    x, w = torch.randn(2, 4, 8, 8), torch.tensor(0.7)
    for op in (nn.Identity(), FactorizedReduce(4, 4, affine=False), sep_conv(4, 3, 1, True)):
        torch.testing.assert_close(weighted(op, x, w), w * op(x))
    assert weighted(nn.Identity(), x, None) is x


def test_add_all_is_the_sum():
    terms = [torch.full((2,), float(k)) for k in range(1, 5)]
    torch.testing.assert_close(add_all(terms), torch.full((2,), 10.0))
    assert add_all(terms[:1]) is terms[0]
