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


def recorded_searches(study, results: Path):
    """(recorded recipe.yaml, the recipe the study file resolves to) of each recorded search."""
    for variant, spec in study.variants.items():
        for seed in study.seeds:
            recorded_path = search_dir(study, results, variant, seed) / "recipe.yaml"
            if spec.search is None or not recorded_path.is_file():
                continue
            overrides = [*search_overrides(study, results, variant, seed), f"search.seed={seed}"]
            yield recorded_path, load_recipe(spec.search.recipe, overrides)


@pytest.mark.skipif(not RESULTS.is_dir(), reason="no recorded results")
def test_table2_small_resolves_to_its_recorded_search_recipes():
    checked = 0
    for recorded_path, given in recorded_searches(load_study(STUDY), RESULTS):
        recorded = as_it_ran(yaml.safe_load(recorded_path.read_text()))
        assert recorded["supernet"]["fused_activation"] is False  # they ran before the option
        # what `--resume` checks: fields added since are completed at their defaults
        check_recorded_recipe(recorded_path.parent, given.model_dump(mode="json"), Recipe)
        checked += 1
    assert checked == 12  # four variants, three seeds


NB201_RESULTS = ROOT / "results/nb201_small"


@pytest.mark.skipif(not NB201_RESULTS.is_dir(), reason="no recorded results")
@pytest.mark.parametrize(
    ("study_file", "cells"), [("nb201_small.yaml", 18), ("nb201_robust.yaml", 6)]
)
def test_nb201_small_cells_are_what_both_nb201_studies_resolve_to(study_file, cells):
    """nb201_robust's plain DARTS variants are nb201_small's cells, copied: each recorded search
    is what the study file resolves to for that variant and seed."""
    study = load_study(ROOT / "recipes/studies" / study_file)
    checked = 0
    for recorded_path, given in recorded_searches(study, NB201_RESULTS):
        check_recorded_recipe(recorded_path.parent, given.model_dump(mode="json"), Recipe)
        checked += 1
    assert checked == cells  # every cell nb201_small recorded that the study file has
