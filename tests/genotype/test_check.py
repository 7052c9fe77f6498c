"""Fitting a genotype to a space, and the one structure check network building uses."""

from __future__ import annotations

import pytest

import factorspace as fs
from factorspace.errors import FieldError
from factorspace.genotype import (
    Genotype,
    check_buildable,
    check_genotype,
    check_structure,
    from_darts_string,
    load_genotype,
    save_genotype,
)
from tests.genotype.strings import DARTS_V2


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


# --- the structure check network building uses ---------------------------------------------------


@pytest.mark.parametrize(
    ("genotype", "expected"),
    [
        (_edit(V2, "normal", None, edges=[]), "normal.edges: a cell needs at least one edge"),
        (_edit(V2, "normal", 0, source=2), "normal.edges[0].source: node 2 takes inputs from nodes 0..1, not 2"),
        (_edit(V2, "reduce", None, edges=[{"source": 0, "target": 3, "op": "skip_connect"}]), "reduce.edges: nodes [2] have no incoming edge"),
        (_edit(V2, "reduce", None, concat=[2, 9]), "reduce.concat: [2, 9]: the nodes are 0..5"),
        (_edit(V2, "normal", 0, op="sep_conv_3x4"), "normal.edges[0].op: unknown operator 'sep_conv_3x4' (did you mean 'sep_conv_3x3'"),
        (_edit(V2, "normal", 0, op="none", inputs={}), "normal.edges[0].op: 'none' is the zero operator (no connection) and is never kept"),
        (_edit(V2, "normal", 2, arguments={"stride": 2}), "normal.edges[2].arguments.stride: operator 'sep_conv_3x3' takes no argument 'stride'"),
    ],
)  # fmt: skip
def test_check_buildable_names_the_field(genotype, expected):
    with pytest.raises(fs.RecipeError) as info:
        check_buildable(genotype, path="g.yaml")
    assert str(info.value).startswith(f"g.yaml: {expected}")


def test_structure_without_the_registries_accepts_an_unknown_operator():
    g = _edit(V2, "normal", 0, op="sep_conv_3x4")
    check_structure(g)  # drawing a genotype needs no registry
    with pytest.raises(FieldError) as info:
        check_structure(g, registered=True)
    assert info.value.loc == ("normal", "edges", 0, "op")


def test_buildable_accepts_darts_v2():
    check_buildable(V2)
