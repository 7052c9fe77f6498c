"""Genotypes: files, fitting a space, and DARTS strings."""

from __future__ import annotations

import pytest

import factorspace as fs
from factorspace.compile import Space
from factorspace.genotype import (
    Genotype,
    check_genotype,
    from_darts_string,
    load_genotype,
    save_genotype,
    to_darts_string,
)
from factorspace.schema import SpaceConfig
from tests.conftest import ROOT

# Verbatim from quark0/darts cnn/genotypes.py (DARTS_V2) and yuhuixu1993/PC-DARTS genotypes.py.
DARTS_V2 = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
PC_DARTS_CIFAR = "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))"
PC_DARTS_IMAGE = "Genotype(normal=[('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1), ('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3)], reduce_concat=range(2, 6))"


@pytest.fixture(scope="module")
def darts_space() -> Space:
    return Space(fs.load_recipe(ROOT / "recipes" / "darts_cifar.yaml").space)


@pytest.fixture(scope="module")
def kernel_space() -> Space:
    """An argument factor: sep_conv's kernel size, with an activation."""
    return Space(
        SpaceConfig.model_validate(
            {
                "factors": [
                    {"name": "op", "role": "operator", "choices": ["none", "skip_connect", "sep_conv"]},
                    {"name": "activation", "role": "input", "choices": ["relu", "selu"],
                     "applies_to": {"tags": ["parameterized"]}},
                    {"name": "kernel", "role": "argument", "keyword": "kernel_size",
                     "choices": [3, 5], "applies_to": {"choices": ["sep_conv"]}},
                ],
                "cell": {"nodes": 2, "keep": 2},
            }
        )
    )  # fmt: skip


# --- DARTS strings -----------------------------------------------------------------------------


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


# --- files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_save_and_load_round_trip(tmp_path, suffix):
    data = from_darts_string(PC_DARTS_CIFAR, name="pc", source="paper").model_dump()
    data["normal"]["edges"][0] = {
        "source": 1, "target": 2, "op": "sep_conv", "inputs": {"activation": "selu"},
        "arguments": {"kernel_size": 5},
    }  # fmt: skip
    g = Genotype.model_validate(data)
    path = save_genotype(g, tmp_path / f"genotype{suffix}")
    assert load_genotype(path) == g
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    save_genotype(g.model_copy(update={"name": "again"}), path)  # replaces in place
    assert load_genotype(path).name == "again"


def test_save_refuses_an_unknown_suffix(tmp_path):
    with pytest.raises(fs.FactorspaceError, match=r"use \.json, \.yaml or \.yml"):
        save_genotype(from_darts_string(DARTS_V2), tmp_path / "genotype.txt")


def test_a_recipe_is_not_a_genotype():
    path = ROOT / "recipes" / "darts_cifar.yaml"
    with pytest.raises(fs.RecipeError) as info:
        load_genotype(path)
    assert str(info.value) == (
        f"{path}: not a factorspace genotype (it looks like a recipe): "
        "missing `format: factorspace.genotype`"
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("  - {source: 0, target: 2}", ":6: normal.edges[1].op: required key is missing"),
        ("  - {source: 0, target: 2, opp: skip_connect}", ":6: normal.edges[1].opp: unknown key 'opp' (did you mean 'op'?); allowed: source, target, op, inputs, arguments"),
        ("  - {source: -1, target: 2, op: skip_connect}", ":6: normal.edges[1].source: Input should be greater than or equal to 0 (got -1)"),
    ],
)  # fmt: skip
def test_bad_genotype_file_gets_a_located_message(tmp_path, edit, expected):
    text = (
        "format: factorspace.genotype\nversion: 1\nnormal:\n  edges:\n"
        "  - {source: 1, target: 2, op: skip_connect}\n"
        f"{edit}\n"
        "  concat: [2]\nreduce: {edges: [], concat: []}\n"
    )
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(fs.RecipeError) as info:
        load_genotype(path)
    assert str(info.value) == f"{path}{expected}"


def test_format_and_version_are_checked(tmp_path):
    path = tmp_path / "g.json"
    path.write_text('{"format": "darts", "normal": {}, "reduce": {}}')
    with pytest.raises(fs.RecipeError, match=r"g\.json:1: format: not a factorspace genotype"):
        load_genotype(path)
    path.write_text('{"format": "factorspace.genotype",\n "version": 2}')
    with pytest.raises(fs.RecipeError, match=r":2: version: genotype version 2 is not supported"):
        load_genotype(path)


# --- fitting a space ---------------------------------------------------------------------------


def _edit(g: Genotype, cell: str, edge: int | None, **changes) -> Genotype:
    data = g.model_dump()
    if edge is None:
        data[cell].update(changes)
    else:
        data[cell]["edges"][edge].update(changes)
    return Genotype.model_validate(data)


V2 = from_darts_string(DARTS_V2)


@pytest.mark.parametrize(
    ("genotype", "expected"),
    [
        (_edit(V2, "normal", 0, op="conv_3x3"), "normal.edges[0].op: 'conv_3x3' is not a choice of factor 'op' (did you mean 'sep_conv_3x3'?); choices: none, max_pool_3x3, "),
        (_edit(V2, "normal", 0, op="none", inputs={}), "normal.edges[0].op: 'none' is the zero operator (no connection) and is never kept"),
        (_edit(V2, "reduce", 0, inputs={"activation": "relu"}), "reduce.edges[0].inputs.activation: factor 'activation' does not apply to 'max_pool_3x3'"),
        (_edit(V2, "normal", 0, inputs={"activation": "selu"}), "normal.edges[0].inputs.activation: 'selu' is not a choice of factor 'activation' (did you mean 'relu'?); choices: relu"),
        (_edit(V2, "normal", 0, inputs={"activaton": "relu"}), "normal.edges[0].inputs.activaton: unknown input factor 'activaton' (did you mean 'activation'?); 'sep_conv_3x3' takes: activation"),
        (_edit(V2, "normal", 1, inputs={}), "normal.edges[1].inputs: missing 'activation': factor 'activation' applies to 'sep_conv_3x3' (relu)"),
        (_edit(V2, "normal", 0, arguments={"kernel_size": 3}), "normal.edges[0].arguments.kernel_size: unknown argument 'kernel_size'; 'sep_conv_3x3' takes: none"),
        (_edit(V2, "normal", 0, source=2), "normal.edges[0].source: node 2 takes inputs from nodes 0..1, not 2"),
        (_edit(V2, "normal", 7, target=6), "normal.edges[7].target: no node 6: the intermediate nodes are 2..5 (cell.nodes = 4)"),
        (_edit(V2, "normal", 7, target=3), "normal.edges: node 3 has 3 incoming edges; every intermediate node keeps cell.keep = 2"),
        (_edit(V2, "normal", 1, source=0), "normal.edges[1]: a second edge from node 0 to node 2; a node keeps distinct inputs"),
        (_edit(V2, "reduce", None, concat=[2, 3, 4]), "reduce.concat: concat must be the intermediate nodes [2, 3, 4, 5], got [2, 3, 4]"),
    ],
)  # fmt: skip
def test_check_names_the_misfit(darts_space, genotype, expected):
    with pytest.raises(fs.RecipeError) as info:
        check_genotype(genotype, darts_space)
    assert str(info.value).startswith(expected)


def test_check_accepts_darts_v2_and_takes_a_space_config(darts_space):
    check_genotype(V2, darts_space)
    check_genotype(V2, darts_space.config)


def _kernel_genotype(*edges) -> Genotype:
    cell = {"edges": list(edges), "concat": [2, 3]}
    return Genotype.model_validate({"normal": cell, "reduce": cell})


SEP = {"op": "sep_conv", "inputs": {"activation": "selu"}, "arguments": {"kernel_size": 5}}
FILL = [{"source": 0, "target": 3, "op": "skip_connect"}, {"source": 2, "target": 3, **SEP}]


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ({**SEP, "arguments": {}}, "normal.edges[0].arguments: missing 'kernel_size': factor 'kernel' applies to 'sep_conv' (3, 5)"),
        ({**SEP, "arguments": {"kernel_size": 7}}, "normal.edges[0].arguments.kernel_size: 7 is not a choice of factor 'kernel'; choices: 3, 5"),
        ({**SEP, "arguments": {"kernel_size": "5"}}, "normal.edges[0].arguments.kernel_size: '5' is not a choice of factor 'kernel'"),
        ({"op": "skip_connect", "arguments": {"kernel_size": 3}}, "normal.edges[0].arguments.kernel_size: factor 'kernel' does not apply to 'skip_connect'"),
    ],
)  # fmt: skip
def test_check_arguments_by_keyword(kernel_space, first, expected):
    genotype = _kernel_genotype({"source": 0, "target": 2, **first}, {"source": 1, "target": 2, **SEP}, *FILL)  # fmt: skip
    with pytest.raises(fs.RecipeError) as info:
        check_genotype(genotype, kernel_space)
    assert str(info.value).startswith(expected)


def test_check_accepts_arguments_that_fit(kernel_space):
    genotype = _kernel_genotype({"source": 0, "target": 2, **SEP}, {"source": 1, "target": 2, **SEP}, *FILL)  # fmt: skip
    check_genotype(genotype, kernel_space)


def test_load_with_a_space_locates_the_misfit(tmp_path, darts_space):
    path = save_genotype(_edit(V2, "normal", 3, op="conv_3x3"), tmp_path / "g.yaml")
    with pytest.raises(fs.RecipeError) as info:
        load_genotype(path, space=darts_space)
    line = path.read_text().splitlines().index("    op: conv_3x3") + 1
    assert str(info.value).startswith(f"{path}:{line}: normal.edges[3].op: 'conv_3x3' is not")
