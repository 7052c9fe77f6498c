"""Read a study file, every error located as a recipe's is (``FILE:LINE: field: message``)."""

from __future__ import annotations

from pathlib import Path

from factorspace.errors import FieldError, RecipeError, format_loc
from factorspace.loader import line_of, load_recipe, parse_yaml, read_text, validate
from factorspace.study.schema import PLACEHOLDER, Study


def load_study(path: str | Path) -> Study:
    """The validated :class:`Study` in ``path``, its recipe paths made relative to the cwd.

    With ``evaluate: nb201`` every variant's search recipe is loaded too: one whose space is not
    NAS-Bench-201's is refused here, before any cell runs
    (:func:`factorspace.study.lookup.check_nb201_variants`).
    """
    path = Path(path)
    data, lines = parse_yaml(read_text(path), path)
    if not isinstance(data, dict):
        raise RecipeError(
            "a study is a mapping with `name`, `seeds`, `train`, `variants`", path=path, line=1
        )
    study = _relative_to(validate(Study, data, path, lines), path.parent)
    if study.evaluate == "nb201":
        from factorspace.study.lookup import check_nb201_variants

        try:
            check_nb201_variants(study)
        except FieldError as e:
            raise RecipeError(
                e.message, path=path, line=line_of(e.loc, lines), field=format_loc(e.loc)
            ) from None
    return study


def _relative_to(study: Study, base: Path) -> Study:
    def moved(stage):
        return None if stage is None else stage.model_copy(update={"recipe": base / stage.recipe})

    variants = {
        name: v.model_copy(update={"search": moved(v.search), "train": moved(v.train)})
        for name, v in study.variants.items()
    }
    return study.model_copy(update={"train": moved(study.train), "variants": variants})


def check_study_recipes(study: Study) -> list[Path]:
    """Load every recipe ``study`` names with its stage's ``set`` (what `factorspace validate`
    of a study checks); returns them. A ``set`` item naming ``{search:VARIANT}`` is left out: the
    run directory it stands for exists only once the study runs.

    Raises:
        RecipeError: the first recipe, or override, that is not valid (located).
    """
    from factorspace.retrain.recipe import load_train_recipe

    stages = [(study.train, load_train_recipe)]
    for variant in study.variants.values():
        stages += [(variant.search, load_recipe), (variant.train, load_train_recipe)]
    checked = []
    for stage, load in stages:
        if stage is not None and (stage.recipe, stage.set) not in checked:
            load(stage.recipe, [s for s in stage.set if not PLACEHOLDER.search(s)])
            checked.append((stage.recipe, stage.set))
    return list(dict.fromkeys(recipe for recipe, _ in checked))
