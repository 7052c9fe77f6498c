"""The cell-family registry: the shipped families, duplicates refused, a user's family
selectable from a recipe (the worked example of docs/writing-a-space.md)."""

from __future__ import annotations

import runpy

import pytest
import torch
import torch.nn.functional as F

import factorspace as fs
from factorspace.cells import (
    CELL_FAMILIES,
    CellFamily,
    register_cell_family,
    unregister_cell_family,
)
from factorspace.compile import Space, compile_supernet
from factorspace.derive import derive_genotype
from factorspace.genotype import check_genotype, load_genotype, save_genotype
from factorspace.retrain import create_model
from factorspace.schema.cell import CELL_CONFIGS
from factorspace.schema.network import SUPERNET_CONFIGS
from tests.conftest import ROOT
from tests.search.test_nb201_search import TINY

EXAMPLE = ROOT / "docs" / "examples" / "my_cell_family.py"


def test_the_shipped_families_are_registered_with_their_schema_members():
    for registry in (CELL_FAMILIES, CELL_CONFIGS, SUPERNET_CONFIGS):
        assert {"darts", "nb201"} <= set(registry.names())
    assert CELL_FAMILIES.get("darts").cell_types == ("normal", "reduce")
    assert CELL_FAMILIES.get("nb201").cell_types == ("normal",)


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="cell family 'nb201' is already registered"):
        register_cell_family("nb201")(CellFamily)


def test_a_family_needs_its_schema_members_and_its_cells_shape():
    with pytest.raises(ValueError, match="cell family 'nowhere' has no space.cell schema member"):
        register_cell_family("nowhere")(CellFamily)
    from factorspace.schema.kinds import KindMember

    with pytest.raises(TypeError, match="member KindMember has no cell_types, input_nodes"):
        register_cell_family("nowhere", cell=KindMember)(CellFamily)
    assert "nowhere" not in CELL_FAMILIES and "nowhere" not in CELL_CONFIGS


@pytest.fixture
def example():
    names = set(CELL_FAMILIES.names())
    module = runpy.run_path(str(EXAMPLE))  # registers `chain` and its members
    yield module
    unregister_cell_family("chain")
    assert set(CELL_FAMILIES.names()) == names
    assert "chain" not in CELL_CONFIGS and "chain" not in SUPERNET_CONFIGS


def test_the_docs_example_is_selected_from_a_recipe_and_searches(example, tmp_path):
    kinds = ["space.cell={kind: chain, nodes: 4}", "supernet.kind=chain", "space.mode=joint"]
    recipe = fs.load_recipe(TINY, kinds)
    assert recipe.model_dump(mode="json")["space"]["cell"] == {"kind": "chain", "nodes": 4}
    space = Space(recipe.space)
    assert space.edge_list() == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert space.space_size() == 5**4
    net = compile_supernet(recipe.space, recipe.supernet, "cpu", recipe.search)
    F.cross_entropy(net(torch.randn(2, 3, 16, 16)), torch.tensor([0, 1])).backward()
    assert all(p.grad is not None for p in net.arch.parameters())
    genotype = derive_genotype(net)
    assert genotype.family == "chain" and len(genotype.normal.edges) == 4
    check_genotype(genotype, recipe.space)
    path = save_genotype(genotype, tmp_path / "g.json")
    assert load_genotype(path, space=recipe.space) == genotype
    model = create_model(genotype, channels=4, cells_per_stage=1)
    assert model(torch.randn(1, 3, 16, 16)).shape == (1, 10)


def test_the_docs_example_refuses_a_bad_field(example):
    with pytest.raises(fs.RecipeError, match=r"space\.cell\.nodes: Input should be less than"):
        fs.load_recipe(TINY, ["space.cell={kind: chain, nodes: 40}", "supernet.kind=chain"])
