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


@pytest.fixture
def declared_op():
    """``test_declared``: a conv family whose ``width`` accepts 8 or 16 only."""

    @register_operator("test_declared", arguments={"width": {8, 16}})
    def make(c, stride, affine, width=8):
        return nn.Identity()

    yield OPERATORS.get("test_declared")
    OPERATORS.remove("test_declared")


@pytest.mark.parametrize(("value", "accepted"), [(8, True), (16, True), (4, False), (8.0, False), ("8", False)])  # fmt: skip
def test_declared_argument_values_are_compared_by_value_and_type(declared_op, value, accepted):
    error = declared_op.argument_error("width", value)
    assert (error is None) == accepted
    if not accepted:
        assert error == f"operator 'test_declared' does not take width={value!r}; accepted: 16, 8"


def test_true_is_not_the_declared_value_1():
    register_operator("test_flag", arguments={"k": {1, 3}})(lambda c, s, a, k=1: nn.Identity())
    try:
        assert OPERATORS.get("test_flag").argument_error("k", True) is not None
        assert OPERATORS.get("test_flag").argument_error("k", 1) is None
    finally:
        OPERATORS.remove("test_flag")


def test_an_undeclared_argument_is_not_judged(declared_op):
    assert declared_op.argument_error("other", "anything") is None


@pytest.mark.parametrize("kernel", [1, 3, 5, 7, 15])
def test_builtin_conv_families_take_odd_kernels(kernel):
    for op in ("sep_conv", "dil_conv", "conv"):
        assert OPERATORS.get(op).argument_error("kernel_size", kernel) is None


@pytest.mark.parametrize("kernel", [0, 2, 4, 17, -3, 3.0, "3x3", True])
def test_builtin_conv_families_refuse_other_kernels(kernel):
    for op in ("sep_conv", "dil_conv", "conv"):
        assert (
            OPERATORS.get(op)
            .argument_error("kernel_size", kernel)
            .startswith(f"operator {op!r}: kernel_size={kernel!r} is not ")
        )


def _one_arg(channels):
    return nn.Identity()


def _no_args():
    return nn.Identity()


def _two_required(channels, extra):
    return nn.Identity()


@pytest.mark.parametrize(
    ("register", "factory", "expected"),
    [
        (register_operator, _one_arg, "operator 'test_bad': tests.test_registry._one_arg(channels) must be callable as (channels, stride, affine, **arguments)"),
        (register_activation, _no_args, "activation 'test_bad': tests.test_registry._no_args() must be callable as (channels)"),
        (register_activation, _two_required, "activation 'test_bad': tests.test_registry._two_required(channels, extra) must be callable as (channels)"),
    ],
)  # fmt: skip
def test_a_factory_with_the_wrong_signature_is_refused_naming_it(register, factory, expected):
    with pytest.raises(TypeError) as info:
        register("test_bad")(factory)
    assert str(info.value) == expected
    assert "test_bad" not in OPERATORS and "test_bad" not in ACTIVATIONS


def test_a_declared_argument_the_factory_does_not_take_is_refused():
    with pytest.raises(TypeError, match="declares argument 'kernel_size' but does not take it"):
        register_operator("test_bad", arguments={"kernel_size": {3}})(lambda c, s, a: None)
    assert "test_bad" not in OPERATORS


def test_an_operator_may_take_a_required_argument_keyword():
    register_operator("test_required")(lambda c, s, a, width: nn.Identity())
    try:
        assert OPERATORS.get("test_required").accepts("width")
    finally:
        OPERATORS.remove("test_required")


@pytest.mark.parametrize(
    ("build", "what", "field"),
    [
        ("factorspace.relax:build_relaxation", "relaxation", "search.relaxation.kind"),
        ("factorspace.regularize:build_regularizer", "regularizer", "search.regularizers"),
        ("factorspace.select:build_selection", "selection rule", "search.selection"),
    ],
)
def test_a_schema_member_without_a_registered_class_is_one_located_error(build, what, field):
    """A plugin that declared its config member but registered no class: one message, located."""
    import importlib
    from types import SimpleNamespace

    from factorspace.errors import FactorspaceError

    module, name = build.split(":")
    with pytest.raises(FactorspaceError) as e:
        getattr(importlib.import_module(module), name)(SimpleNamespace(kind="ghost"))
    assert e.value.message.startswith(
        f"'ghost' has a schema member but no registered {what}; registered: "
    )
    assert e.value.field == field


def test_a_registered_class_is_built_with_its_config():
    from types import SimpleNamespace

    from factorspace.registry import Registry

    widgets = Registry("widget")
    widgets.add("w", lambda config: ("built", config.size))
    assert widgets.build(SimpleNamespace(kind="w", size=3), field="f") == ("built", 3)
