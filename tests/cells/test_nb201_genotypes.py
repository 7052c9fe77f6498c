"""NB201 genotypes: the benchmark's cell strings in both directions, the document's checks."""

from __future__ import annotations

import json

import pytest

import factorspace as fs
from factorspace.cells.nb201 import from_nb201_string, is_nb201_space, to_nb201_string
from factorspace.compile import Space
from factorspace.errors import FieldError
from factorspace.evidence import nb201
from factorspace.genotype import Genotype, check_fits_space, load_genotype, save_genotype
from factorspace.schema import SpaceConfig
from tests.conftest import ROOT
from tests.genotype.strings import DARTS_V2

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"  # fmt: skip
FIVE = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def nb201_space(mode: str = "joint", kernels: bool = False, nodes: int = 3) -> Space:
    if kernels:
        factors = [
            {"name": "op", "role": "operator", "choices": ["none", "skip_connect", "nor_conv", "avg_pool_3x3"]},
            {"name": "kernel", "role": "argument", "keyword": "kernel_size", "choices": [1, 3],
             "applies_to": {"choices": ["nor_conv"]}},
        ]  # fmt: skip
    else:
        factors = [{"name": "op", "role": "operator", "choices": FIVE}]
    return Space(
        SpaceConfig.model_validate(
            {"mode": mode, "factors": factors, "cell": {"kind": "nb201", "nodes": nodes}}
        )
    )


def test_every_cell_of_the_table_round_trips():
    """String -> genotype -> string is the identity on all 15,625 cells, in both spaces, and
    every genotype fits its space."""
    table = nb201.load_table()
    factorized = nb201_space("factorized", kernels=True)
    plain, kernel = [], []
    for record in table.records:
        g = from_nb201_string(record.arch)
        k = from_nb201_string(record.arch, space=factorized)
        plain.append(to_nb201_string(g))
        kernel.append(to_nb201_string(k))
    archs = [r.arch for r in table.records]
    assert plain == archs
    assert kernel == archs
    check_fits_space(k, factorized)
    check_fits_space(g, nb201_space())


def test_a_genotype_keeps_every_edge_none_included(tmp_path):
    g = from_nb201_string("|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|none~2|")
    assert g.family == "nb201" and g.cell_types == ("normal",) and g.reduce is None
    assert [(e.source, e.target) for e in g.normal.edges] == list(nb201.EDGES)
    assert [e.op for e in g.normal.edges].count("none") == 4
    assert g.normal.concat == [3]
    path = save_genotype(g, tmp_path / "g.json")
    assert load_genotype(path, registered=True) == g
    assert json.loads(path.read_text())["family"] == "nb201"


def test_darts_genotype_files_are_unchanged(tmp_path):
    """No ``family`` key in a DARTS genotype's file: older readers and diffs see no change."""
    g = fs.genotype.from_darts_string(DARTS_V2)
    assert g.cell_family == "darts" and g.cell_types == ("normal", "reduce")
    path = save_genotype(g, tmp_path / "g.json")
    assert "family" not in json.loads(path.read_text())


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "2 node(s)"),
        ("|sep_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'sep_conv_3x3'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "is not 'operation~0'"),
        ("Genotype(normal=[('sep_conv_3x3', 0)])", "node(s)"),
    ],
)  # fmt: skip
def test_a_string_that_is_no_nb201_cell_is_refused(text, why):
    with pytest.raises(fs.FactorspaceError, match="is not an NB201 cell string") as info:
        from_nb201_string(text)
    assert why in str(info.value)


def test_a_genotype_that_is_no_benchmark_cell_has_no_string():
    with pytest.raises(fs.FactorspaceError, match="a darts genotype is no NAS-Bench-201 cell"):
        to_nb201_string(fs.genotype.from_darts_string(DARTS_V2))
    g = from_nb201_string(BEST)
    edges = [e.model_copy(update={"op": "sep_conv_3x3"}) if i == 2 else e for i, e in enumerate(g.normal.edges)]  # fmt: skip
    bad = g.model_copy(update={"normal": g.normal.model_copy(update={"edges": edges})})
    with pytest.raises(fs.FactorspaceError, match=r"edge 1->2: 'sep_conv_3x3' is none of"):
        to_nb201_string(bad)
    with pytest.raises(fs.FactorspaceError, match="the edges"):
        to_nb201_string(g.model_copy(update={"normal": g.normal.model_copy(update={"edges": edges[:5]})}))  # fmt: skip


def test_which_spaces_are_the_benchmarks():
    assert is_nb201_space(nb201_space()) and is_nb201_space(nb201_space("factorized", True))
    assert not is_nb201_space(nb201_space(nodes=4))
    assert not is_nb201_space(Space(fs.load_recipe(ROOT / "recipes" / "darts_cifar.yaml").space))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("  - {source: 2, target: 3, op: none}\n  - {source: 0, target: 4, op: none}", "normal.edges[6].target: no node 4: the nodes are 1..3"),
        ("  - {source: 1, target: 3, op: none}", "normal.edges[5]: a second edge from node 1 to node 3"),
        ("", "normal.edges: no edge 2->3: an nb201 cell keeps every edge"),
        ("  - {source: 2, target: 3, op: max_pool_3x3}", "normal.edges[5].op: 'max_pool_3x3' is not a choice of factor 'op'"),
    ],
    ids=["no-node", "twice", "missing", "not-a-choice"],
)  # fmt: skip
def test_a_genotype_that_leaves_the_space_is_refused_at_its_field(tmp_path, edit, expected):
    edges = "".join(
        f"  - {{source: {s}, target: {t}, op: skip_connect}}\n" for s, t in nb201.EDGES[:5]
    )
    text = f"format: factorspace.genotype\nfamily: nb201\nnormal:\n  edges:\n{edges}{edit}\n  concat: [3]\n"  # fmt: skip
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(fs.RecipeError) as info:
        load_genotype(path, space=nb201_space())
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("family: nb201\nnormal: {edges: [{source: 0, target: 2, op: none}], concat: [2]}", "normal.edges: nodes [1] have no incoming edge"),
        ("family: nb201\nnormal: {edges: [{source: 0, target: 1, op: none}], concat: [0]}", "normal.concat: [0]: an nb201 cell outputs its last node; concat must be [1]"),
        ("family: nb201\nnormal: {edges: [{source: 0, target: 1, op: none}], concat: [1]}\nreduce: {edges: [], concat: []}", ":4: reduce: a nb201 genotype has the cells normal, no 'reduce' cell"),
        ("family: nb301\nnormal: {edges: [{source: 0, target: 1, op: none}], concat: [1]}", ":2: family: unknown cell family 'nb301' (did you mean 'nb201'?)"),
        ("normal: {edges: [{source: 0, target: 1, op: skip_connect}], concat: [1]}\nreduce: {edges: [{source: 0, target: 2, op: skip_connect}], concat: [2]}", "normal.edges[0].target: 1: in a DARTS cell nodes 0 and 1 are the inputs"),
        ("normal: {edges: [{source: 0, target: 2, op: skip_connect}], concat: [2]}", ":1: reduce: required key is missing"),
    ],
    ids=["unfed-node", "concat", "nb201-reduce", "unknown-family", "darts-target-1", "darts-no-reduce"],
)  # fmt: skip
def test_bad_documents_are_refused_with_a_located_message(tmp_path, text, expected):
    path = tmp_path / "g.yaml"
    path.write_text(f"format: factorspace.genotype\n{text}\n")
    with pytest.raises(fs.RecipeError) as info:
        load_genotype(path)
    assert expected in str(info.value)


def test_a_darts_genotype_does_not_fit_an_nb201_space():
    with pytest.raises(FieldError) as info:
        check_fits_space(fs.genotype.from_darts_string(DARTS_V2), nb201_space())
    assert "a darts genotype, but the space's cell is nb201's" in str(info.value)


def test_a_darts_genotype_needs_both_cells():
    normal = fs.genotype.from_darts_string(DARTS_V2).normal
    with pytest.raises(ValueError, match="reduce: required key is missing"):
        Genotype.model_validate({"normal": normal.model_dump()})


def test_the_nb201_command_reads_a_genotype_file(tmp_path):
    from typer.testing import CliRunner

    from factorspace.cli import app

    path = save_genotype(from_nb201_string(BEST), tmp_path / "best.json")
    result = CliRunner().invoke(app, ["nb201", str(path), "--json"])
    assert result.exit_code == 0, result.output
    described = json.loads(result.output)
    assert described["arch"] == BEST
    assert described["datasets"]["cifar10"]["rank"] == 1
    darts = save_genotype(fs.genotype.from_darts_string(DARTS_V2), tmp_path / "darts.json")
    result = CliRunner().invoke(app, ["nb201", str(darts)])
    assert result.exit_code == 2 and "a darts genotype is no NAS-Bench-201 cell" in result.output
