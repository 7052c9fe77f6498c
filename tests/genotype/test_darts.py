"""DARTS-format strings: parsed without evaluation, exported back exactly."""

from __future__ import annotations

import pytest

import factorspace as fs
from factorspace.genotype import Genotype, from_darts_string, to_darts_string
from tests.genotype.strings import DARTS_V2, PC_DARTS_CIFAR, PC_DARTS_IMAGE


@pytest.mark.parametrize("text", [DARTS_V2, PC_DARTS_CIFAR, PC_DARTS_IMAGE])
def test_repository_strings_round_trip_exactly(text):
    assert to_darts_string(from_darts_string(text)) == text


def test_darts_string_becomes_edges_with_relu_on_parameterized_ops():
    g = from_darts_string(f"DARTS_V2 = {DARTS_V2}", name="v2")
    assert g.name == "v2"
    first, _, _, _, _, skip, _, dil = g.normal.edges
    assert (first.op, first.source, first.target, first.inputs) == (
        "sep_conv_3x3", 0, 2, {"activation": "relu"}
    )  # fmt: skip
    assert (skip.op, skip.source, skip.target, skip.inputs) == ("skip_connect", 0, 4, {})
    assert (dil.source, dil.target) == (2, 5)
    assert g.reduce.edges[0].inputs == {}  # max_pool_3x3
    assert g.normal.concat == [2, 3, 4, 5] and g.normal.darts_concat_style == "list"
    assert from_darts_string(PC_DARTS_CIFAR).reduce.darts_concat_style == "range"


def test_darts_multiline_layout_parses():
    text = """Genotype(
      normal = [('sep_conv_5x5', 1), ('sep_conv_3x3', 0),
                ('skip_connect', 0), ('avg_pool_3x3', 1)],
      normal_concat = [2, 3],
      reduce = [('sep_conv_7x7', 0), ('max_pool_3x3', 1), ('conv_7x1_1x7', 2), ('skip_connect', 0)],
      reduce_concat = range(2, 4),
    )"""
    g = from_darts_string(text)
    assert [e.target for e in g.reduce.edges] == [2, 2, 3, 3]
    assert g.reduce.edges[2].inputs == {"activation": "relu"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("__import__('os').system('exit 1')", "expected a call `Genotype"),
        ("Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[])", "two (op, source) pairs per intermediate node"),
        ("Genotype(normal=[('conv_3', 0), ('skip_connect', 1)], normal_concat=[2], reduce=[], reduce_concat=[])", "normal[0]: unknown operator 'conv_3'"),
        ("Genotype(normal=[('skip_connect', 2), ('skip_connect', 1)], normal_concat=[2], reduce=[], reduce_concat=[])", "normal[0]: node 2 cannot take node 2"),
        ("Genotype(normal=[], normal_concat=open('x'), reduce=[], reduce_concat=[])", "normal_concat: expected literal values"),
        ("Genotype(normal=[], reduce=[], reduce_concat=[])", "missing ['normal_concat']"),
        ("Genotype(normal=[(", "not a DARTS genotype string"),
    ],
)  # fmt: skip
def test_bad_darts_strings_are_refused_without_evaluation(text, expected):
    with pytest.raises(fs.FactorspaceError) as info:
        from_darts_string(text)
    assert expected in str(info.value)


def test_export_refuses_what_darts_cannot_say_unless_lossy():
    data = from_darts_string(DARTS_V2).model_dump()
    data["normal"]["edges"][0]["inputs"] = {"activation": "selu"}
    g = Genotype.model_validate(data)
    with pytest.raises(fs.FactorspaceError, match=r"normal\.edges\[0\]: .*selu.*lossy=True"):
        to_darts_string(g)
    assert to_darts_string(g, lossy=True) == DARTS_V2
    data["normal"]["edges"][0] = {"source": 0, "target": 2, "op": "sep_conv", "arguments": {"kernel_size": 5}}  # fmt: skip
    with pytest.raises(fs.FactorspaceError, match="kernel_size"):
        to_darts_string(Genotype.model_validate(data))


def test_export_needs_two_edges_per_node_in_order():
    data = from_darts_string(DARTS_V2).model_dump()
    data["normal"]["edges"].reverse()
    with pytest.raises(fs.FactorspaceError, match="two edges per intermediate node in node order"):
        to_darts_string(Genotype.model_validate(data))


def test_export_writes_range_for_genotypes_without_a_recorded_style():
    data = from_darts_string(DARTS_V2).model_dump()
    data["normal"]["darts_concat_style"] = None
    assert "normal_concat=range(2, 6), " in to_darts_string(Genotype.model_validate(data))
