"""The shipped recipes that `factorspace list recipes` prints."""

from __future__ import annotations

from factorspace.loader.shipped import list_recipes
from tests.conftest import ROOT


def test_every_shipped_recipe_is_listed_with_the_first_sentence_of_its_comment():
    listed = list_recipes()
    files = sorted((ROOT / "recipes").glob("*.yaml"))
    assert [r.path for r in listed] == files and [r.name for r in listed] == [p.stem for p in files]
    for recipe in listed:
        comments = [ln for ln in recipe.path.read_text().splitlines() if ln.startswith("# ")]
        described = [ln for ln in comments if not ln.startswith(("# yaml-language", "#   "))]
        paragraph = " ".join(line[2:].strip() for line in described)
        assert recipe.description and paragraph.startswith(recipe.description.rstrip(":"))
        assert recipe.description[-1] in ".)?!", recipe.name  # a sentence's end, not a line's


def test_a_description_ends_at_a_sentence_not_at_an_abbreviation(tmp_path):
    (tmp_path / "r.yaml").write_text(
        "# DARTS (Liu et al. 2019) on CIFAR-10,\n# e.g. for a test. More after.\nspace: {}\n"
    )
    [recipe] = list_recipes(tmp_path)
    assert recipe.description == "DARTS (Liu et al. 2019) on CIFAR-10, e.g. for a test."


def test_a_recipe_without_comments_has_no_description(tmp_path):
    (tmp_path / "mine.yaml").write_text("space: {}\n# a comment after the first key\n")
    (tmp_path / "notes.txt").write_text("# not a recipe\n")
    [recipe] = list_recipes(tmp_path)
    assert (recipe.name, recipe.description) == ("mine", "")


def test_a_missing_folder_lists_nothing(tmp_path):
    assert list_recipes(tmp_path / "absent") == []
