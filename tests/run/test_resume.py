"""Resuming only with the recipe that made the run."""

from __future__ import annotations

import pytest

from factorspace.errors import FactorspaceError
from factorspace.run.atomic import dump_yaml
from factorspace.run.resume import check_same_recipe, differences


def test_differences_names_the_dotted_fields():
    a = {"search": {"epochs": 1, "seed": 0}, "name": "x"}
    b = {"search": {"epochs": 2, "seed": 0}, "name": "x", "extra": 1}
    assert differences(a, b) == ["extra", "search.epochs"]
    assert differences(a, a) == []


def test_resume_refuses_another_recipe_naming_the_field(tmp_path):
    dump_yaml(tmp_path / "recipe.yaml", {"search": {"epochs": 1}})
    check_same_recipe(tmp_path, {"search": {"epochs": 1}})  # the same: no error
    with pytest.raises(FactorspaceError, match=r"recipe.yaml: search.epochs: this run was made"):
        check_same_recipe(tmp_path, {"search": {"epochs": 2}})


def test_resume_without_a_recorded_recipe_says_so(tmp_path):
    with pytest.raises(FactorspaceError, match="cannot read the run's recipe"):
        check_same_recipe(tmp_path, {})


def test_limits_change_nothing_in_a_run_so_resume_ignores_them(tmp_path):
    dump_yaml(tmp_path / "recipe.yaml", {"search": {"epochs": 1}})  # recorded before `limits`
    check_same_recipe(tmp_path, {"search": {"epochs": 1}, "limits": {"memory": "400GiB"}})
    with pytest.raises(FactorspaceError, match=r"search.epochs: this run was made"):
        check_same_recipe(tmp_path, {"search": {"epochs": 2}, "limits": {"memory": "1GiB"}})
