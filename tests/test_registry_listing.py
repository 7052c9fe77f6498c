"""What the registries tell about their entries: names by pattern, module, arguments."""

from __future__ import annotations

from torch import nn

import factorspace as fs
from factorspace.registry import ACTIVATIONS, OPERATORS, register_activation, register_operator


def test_list_operators_and_activations_follow_the_registries():
    assert fs.list_operators() == OPERATORS.names()
    assert fs.list_activations() == ACTIVATIONS.names()
    assert fs.list_operators("sep_conv_*") == ["sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7"]
    assert fs.list_activations("*elu") == [n for n in ACTIVATIONS.names() if n.endswith("elu")]


def test_an_entry_remembers_the_module_that_registered_it():
    assert OPERATORS.get("sep_conv_3x3").module == "factorspace.ops.primitives"
    assert ACTIVATIONS.get("relu").module == "factorspace.ops.activations"
    register_operator("test_module_op")(lambda c, stride, affine: nn.Identity())
    register_activation("test_module_act")(lambda c: nn.Identity())
    try:
        assert OPERATORS.get("test_module_op").module == __name__
        assert ACTIVATIONS.get("test_module_act").module == __name__
    finally:
        OPERATORS.remove("test_module_op")
        ACTIVATIONS.remove("test_module_act")


def test_argument_info_gives_defaults_and_what_is_accepted():
    assert OPERATORS.get("sep_conv").argument_info() == {
        "kernel_size": {"default": 3, "accepts": "odd_kernel_size(value)"}
    }
    assert OPERATORS.get("sep_conv_3x3").argument_info() == {}

    @register_operator("test_info_op", arguments={"width": {4, 2}})
    def op(channels, stride, affine, width, groups=1):
        return nn.Identity()

    try:
        assert OPERATORS.get("test_info_op").argument_info() == {
            "width": {"accepts": [2, 4]},
            "groups": {"default": 1},
        }
    finally:
        OPERATORS.remove("test_info_op")
