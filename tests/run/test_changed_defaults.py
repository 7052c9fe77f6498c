"""A recorded recipe that lacks a field whose default changed since resumes as it ran."""

from __future__ import annotations

import pytest

from factorspace.errors import FactorspaceError
from factorspace.run.changed_defaults import as_it_ran, as_it_ran_overrides
from factorspace.run.resume import check_recorded_recipe
from factorspace.run.rundir import RunDir
from tests.search.tiny import tiny_recipe


def test_missing_fused_activation_and_rrelu_noise_mean_as_before():
    recorded = {"supernet": {"channels": 8}, "search": {"epochs": 2}}
    assert as_it_ran(recorded)["supernet"] == {
        "channels": 8,
        "fused_activation": False,
        "rrelu_noise": "torch",
    }
    assert recorded["supernet"] == {"channels": 8}  # not modified
    assert as_it_ran_overrides(recorded) == [
        "supernet.fused_activation=false",
        'supernet.rrelu_noise="torch"',
    ]


def test_a_run_recorded_with_the_fused_mix_but_before_hashed_noise_resumes_with_torchs():
    recorded = {"supernet": {"fused_activation": True}}
    assert as_it_ran(recorded)["supernet"] == {"fused_activation": True, "rrelu_noise": "torch"}


def test_a_recorded_value_or_a_recipe_without_a_supernet_is_kept():
    on = {"supernet": {"fused_activation": True, "rrelu_noise": "hashed"}}
    assert as_it_ran(on) == on and as_it_ran_overrides(on) == []
    retraining = {"network": {"channels": 36}, "train": {}}
    assert as_it_ran(retraining) == retraining and as_it_ran_overrides(retraining) == []


def test_the_resume_check_compares_with_the_value_the_run_ran_with(tmp_path):
    import yaml

    recorded = tiny_recipe().model_dump(mode="json")
    del recorded["supernet"]["fused_activation"]
    RunDir(tmp_path).recipe.write_text(yaml.safe_dump(recorded))
    off = tiny_recipe("supernet.fused_activation=false").model_dump(mode="json")
    check_recorded_recipe(tmp_path, off)
    with pytest.raises(FactorspaceError, match="differs in: supernet.fused_activation"):
        check_recorded_recipe(tmp_path, tiny_recipe().model_dump(mode="json"))
