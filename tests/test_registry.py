import pytest
from torch import nn

from factorspace.registry import ACTIVATIONS, OPERATORS, register_activation, register_operator
from tests.conftest import ACTIVATIONS as PAPER_ACTIVATIONS
from tests.conftest import DARTS_OPS


def test_darts_ops_and_paper_activations_are_registered():
    assert set(DARTS_OPS) <= set(OPERATORS.names())
    assert set(PAPER_ACTIVATIONS) <= set(ACTIVATIONS.names())


def test_parameterized_tag_marks_exactly_darts_convolutions():
    tagged = [op for op in DARTS_OPS if "parameterized" in OPERATORS.get(op).tags]
    assert tagged == ["sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_activation("relu")(lambda c: nn.ReLU())


def test_unknown_tag_is_refused():
    with pytest.raises(ValueError, match="unknown operator tags"):
        register_operator("x", tags={"convolution"})


def test_register_and_unregister_an_operator():
    register_operator("test_identity", tags={"skip"})(lambda c, stride, affine: nn.Identity())
    try:
        assert "test_identity" in OPERATORS
        assert OPERATORS.get("test_identity").tags == {"skip"}
    finally:
        OPERATORS.remove("test_identity")
    assert "test_identity" not in OPERATORS


def test_swish_has_a_learned_coefficient():
    swish = ACTIVATIONS.get("swish").build(4)
    assert [n for n, _ in swish.named_parameters()] == ["b"]


@pytest.mark.parametrize("name", PAPER_ACTIVATIONS)
def test_each_activation_keeps_the_shape(name):
    import torch

    x = torch.randn(2, 4, 5, 5)
    assert ACTIVATIONS.get(name).build(4)(x).shape == x.shape
