"""The genotype zoo and resolving a genotype argument."""

from __future__ import annotations

import pytest

import factorspace as fs
from factorspace.compile import Space
from factorspace.genotype import (
    Genotype,
    check_genotype,
    from_darts_string,
    save_genotype,
    to_darts_string,
)
from factorspace.genotype.zoo import get_genotype, list_genotypes, resolve_genotype
from tests.conftest import ROOT
from tests.genotype.strings import DARTS_V2, PC_DARTS_CIFAR, PC_DARTS_IMAGE

DARTS_SPACE = Space(fs.load_recipe(ROOT / "recipes" / "darts_cifar.yaml").space)
OUTSIDE_DARTS = {"nasnet", "amoebanet"}  # DARTS's transcriptions: 5 nodes, 7x7 ops


def test_the_zoo_lists_its_genotypes():
    assert list_genotypes() == [
        "darts_v1", "darts_v2", "pc_darts_cifar", "pc_darts_imagenet", "pdarts",
        "drnas_cifar", "drnas_imagenet", "nasnet", "amoebanet",
    ]  # fmt: skip


@pytest.mark.parametrize("name", list_genotypes())
def test_every_zoo_genotype_cites_its_source_and_fits_darts_where_it_can(name):
    g = get_genotype(name)
    assert g.name == name and "github.com/" in g.source
    ops = {e.op for cell in (g.normal, g.reduce) for e in cell.edges}
    in_space = ops <= set(DARTS_SPACE.config.operator.choices)
    assert in_space == (name not in OUTSIDE_DARTS)
    if in_space:
        check_genotype(g, DARTS_SPACE)


@pytest.mark.parametrize(
    ("name", "text"),
    [("darts_v2", DARTS_V2), ("pc_darts_cifar", PC_DARTS_CIFAR), ("pc_darts_imagenet", PC_DARTS_IMAGE)],
)  # fmt: skip
def test_zoo_entries_match_their_repository_strings(name, text):
    assert to_darts_string(get_genotype(name)) == text


# As quark0/darts cnn/genotypes.py lays NASNet out.
NASNET = """NASNet = Genotype(
  normal = [
    ('sep_conv_5x5', 1),
    ('sep_conv_3x3', 0),
    ('sep_conv_5x5', 0),
    ('sep_conv_3x3', 0),
    ('avg_pool_3x3', 1),
    ('skip_connect', 0),
    ('avg_pool_3x3', 0),
    ('avg_pool_3x3', 0),
    ('sep_conv_3x3', 1),
    ('skip_connect', 1),
  ],
  normal_concat = [2, 3, 4, 5, 6],
  reduce = [
    ('sep_conv_5x5', 1),
    ('sep_conv_7x7', 0),
    ('max_pool_3x3', 1),
    ('sep_conv_7x7', 0),
    ('avg_pool_3x3', 1),
    ('sep_conv_5x5', 0),
    ('skip_connect', 3),
    ('avg_pool_3x3', 2),
    ('sep_conv_3x3', 2),
    ('max_pool_3x3', 1),
  ],
  reduce_concat = [4, 5, 6],
)"""


def test_zoo_nasnet_matches_the_darts_repository_layout():
    g = get_genotype("nasnet")
    assert from_darts_string(NASNET, name=g.name, source=g.source) == g
    assert [e.target for e in g.normal.edges] == [2, 2, 3, 3, 4, 4, 5, 5, 6, 6]


def test_resolve_a_file_a_run_directory_and_a_name(tmp_path):
    g = get_genotype("pdarts")
    yaml_file = save_genotype(g, tmp_path / "mine.yaml")
    run = tmp_path / "run"
    run.mkdir()
    save_genotype(g, run / "genotype.json")
    assert resolve_genotype(yaml_file) == g
    assert resolve_genotype(str(run)) == g
    assert resolve_genotype("pdarts") == g
    assert resolve_genotype("PC-DARTS_cifar") == get_genotype("pc_darts_cifar")


def test_resolve_a_typo_suggests_and_lists_the_zoo():
    with pytest.raises(fs.FactorspaceError) as info:
        resolve_genotype("darts_v3")
    message = str(info.value)
    assert message.startswith(
        "'darts_v3' is no genotype file, run directory or zoo genotype (did you mean 'darts_v2'"
    )
    assert message.endswith("zoo genotypes: " + ", ".join(list_genotypes()))


def test_resolve_a_directory_without_a_genotype(tmp_path):
    with pytest.raises(fs.FactorspaceError, match="a run directory holds genotype.json; none here"):
        resolve_genotype(tmp_path)


def test_unknown_zoo_name():
    with pytest.raises(fs.FactorspaceError, match=r"unknown zoo genotype 'pdart' \(did you mean"):
        get_genotype("pdart")


def test_resolve_returns_a_genotype_as_is():
    g = get_genotype("darts_v2")
    assert resolve_genotype(g) is g


def test_resolve_registered_locates_an_unregistered_operator(tmp_path):
    data = get_genotype("darts_v2").model_dump()
    data["reduce"]["edges"][1]["op"] = "max_pool_3x4"
    path = save_genotype(Genotype.model_validate(data), tmp_path / "g.yaml")
    assert resolve_genotype(path).reduce.edges[1].op == "max_pool_3x4"  # drawing needs no registry
    with pytest.raises(fs.RecipeError) as info:
        resolve_genotype(path, registered=True)
    line = [n for n, text in enumerate(path.read_text().splitlines(), 1) if "max_pool_3x4" in text]
    assert str(info.value).startswith(
        f"{path}:{line[0]}: reduce.edges[1].op: unknown operator 'max_pool_3x4' "
        "(did you mean 'max_pool_3x3'"
    )
