"""Read a study file, every error located as a recipe's is (``FILE:LINE: field: message``)."""

from __future__ import annotations

from pathlib import Path

from factorspace.errors import RecipeError
from factorspace.loader import parse_yaml, read_text, validate
from factorspace.study.schema import Study


def load_study(path: str | Path) -> Study:
    """The validated :class:`Study` in ``path``, its recipe paths made relative to the cwd."""
    path = Path(path)
    data, lines = parse_yaml(read_text(path), path)
    if not isinstance(data, dict):
        raise RecipeError(
            "a study is a mapping with `name`, `seeds`, `train`, `variants`", path=path, line=1
        )
    study = validate(Study, data, path, lines)
    return _relative_to(study, path.parent)


def _relative_to(study: Study, base: Path) -> Study:
    def moved(stage):
        return None if stage is None else stage.model_copy(update={"recipe": base / stage.recipe})

    variants = {
        name: v.model_copy(update={"search": moved(v.search), "train": moved(v.train)})
        for name, v in study.variants.items()
    }
    return study.model_copy(update={"train": moved(study.train), "variants": variants})
