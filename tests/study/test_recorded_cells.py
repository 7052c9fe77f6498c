"""The shipped study's recorded search runs (results/table2_small) are what its file resolves to:
a resumed or re-run cell is not refused as "made by another recipe", and computes as they did."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from factorspace.loader import load_recipe
from factorspace.run.changed_defaults import as_it_ran
from factorspace.run.resume import check_recorded_recipe
from factorspace.schema import Recipe
from factorspace.study.cell import search_dir, search_overrides
from factorspace.study.load import load_study

ROOT = Path(__file__).resolve().parents[2]
STUDY, RESULTS = ROOT / "recipes/studies/table2_small.yaml", ROOT / "results/table2_small"


@pytest.mark.skipif(not RESULTS.is_dir(), reason="no recorded results")
def test_table2_small_resolves_to_its_recorded_search_recipes():
    study = load_study(STUDY)
    checked = 0
    for variant, spec in study.variants.items():
        for seed in study.seeds:
            recorded_path = search_dir(study, RESULTS, variant, seed) / "recipe.yaml"
            if spec.search is None or not recorded_path.is_file():
                continue
            overrides = [*search_overrides(study, RESULTS, variant, seed), f"search.seed={seed}"]
            given = load_recipe(spec.search.recipe, overrides)
            recorded = as_it_ran(yaml.safe_load(recorded_path.read_text()))
            assert recorded["supernet"]["fused_activation"] is False  # they ran before the option
            # what `--resume` checks: fields added since are completed at their defaults
            check_recorded_recipe(recorded_path.parent, given.model_dump(mode="json"), Recipe)
            checked += 1
    assert checked == 12  # four variants, three seeds


NB201_RESULTS = ROOT / "results/nb201_small"


@pytest.mark.skipif(not NB201_RESULTS.is_dir(), reason="no recorded results")
@pytest.mark.parametrize("study_file", ["nb201_small.yaml", "nb201_robust.yaml"])
def test_nb201_small_cells_are_what_both_nb201_studies_resolve_to(study_file):
    """nb201_robust's plain DARTS variants are nb201_small's cells, copied: each recorded search
    is what the study file resolves to for that variant and seed."""
    study = load_study(ROOT / "recipes/studies" / study_file)
    checked = 0
    for variant, spec in study.variants.items():
        for seed in study.seeds:
            recorded_path = search_dir(study, NB201_RESULTS, variant, seed) / "recipe.yaml"
            if spec.search is None or not recorded_path.is_file():
                continue
            overrides = [
                *search_overrides(study, NB201_RESULTS, variant, seed),
                f"search.seed={seed}",
            ]
            given = load_recipe(spec.search.recipe, overrides)
            check_recorded_recipe(recorded_path.parent, given.model_dump(mode="json"), Recipe)
            checked += 1
    assert checked >= 1
