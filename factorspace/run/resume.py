"""Resuming a run: only with the recipe that made it, and with the records its checkpoint
depends on as the checkpoint kept them."""

from __future__ import annotations

import warnings
from pathlib import Path

import yaml

from factorspace.errors import FactorspaceError, clip
from factorspace.run.changed_defaults import as_it_ran
from factorspace.run.checkpoint import (
    RECIPE_RECORD,
    check_record_names,
    checkpoint_records,
    restore_records,
)
from factorspace.run.rundir import RunDir


class RecordsRestored(UserWarning):
    """A resume found a record file (``arch/epoch_NNN.json``, ``genotypes/...``, a re-training's
    ``genotype.json``) missing or changed, and rewrote it from the checkpoint."""


def check_resumable(run_dir: Path, resolved: dict, model: type | None = None) -> None:
    """Refuse to resume ``run_dir`` with a recipe other than the one it recorded, or once its
    ``recipe.yaml`` was edited (the checkpoint keeps a copy); then put back the record files its
    checkpoint depends on where they are missing or differ from the checkpoint's copies, each
    said by a :class:`RecordsRestored` warning.

    Raises:
        FactorspaceError: another recipe; an edited recipe.yaml; an unreadable checkpoint; a
            record that cannot be written back.
    """
    check_recorded_recipe(run_dir, resolved, model)
    checkpoint = RunDir(run_dir).checkpoint
    if not checkpoint.exists():  # nothing to resume from: the run starts again (rundir)
        return
    records = checkpoint_records(checkpoint) or {}
    check_record_names(checkpoint, records)
    if RECIPE_RECORD in records:  # a checkpoint older than this check kept none
        check_unedited_recipe(RunDir(run_dir).recipe, records[RECIPE_RECORD], checkpoint)
    for note in restore_records(run_dir, checkpoint, records):
        warnings.warn(note, RecordsRestored, stacklevel=2)


def check_unedited_recipe(path: Path, kept: bytes, checkpoint: Path) -> None:
    """Refuse ``recipe.yaml`` at ``path`` where it differs from the copy ``checkpoint`` kept
    (``limits`` aside): the run would go on as recorded while its recipe said otherwise."""
    try:
        recorded = yaml.safe_load(kept)
    except yaml.YAMLError:
        raise FactorspaceError(f"{checkpoint}: its copy of recipe.yaml does not parse") from None
    on_disk = _read_recipe(path)
    recorded, on_disk = (_without_limits(r) for r in (recorded, on_disk))
    if recorded != on_disk:
        diff = differences(recorded, on_disk)
        raise FactorspaceError(
            f"{path}: {diff[0] if diff else 'recipe'}: edited after the run started (differs "
            f"from the copy its checkpoint keeps in: {_listed(diff)}); --resume continues the "
            "run as it was recorded: undo the edit, or start a new run with the edited recipe"
        )


check_same_recipe = check_resumable  # the name the search and the re-training call it by


def check_recorded_recipe(run_dir: Path, resolved: dict, model: type | None = None) -> None:
    """Refuse to resume ``run_dir`` with a recipe other than the one it recorded.

    ``model`` (the recipe's pydantic class) completes the recorded recipe with the fields added
    to the schema since it was written, at their defaults: such a field's default is what runs
    did before it existed (a changed default is in :mod:`factorspace.run.changed_defaults`), so
    a run recorded before it resumes.
    """
    path = RunDir(run_dir).recipe
    recorded = as_it_ran(_read_recipe(path))  # a default changed since: as the run ran
    if model is not None:
        recorded = _completed(recorded, model)
    recorded, resolved = (_without_limits(r) for r in (recorded, resolved))
    if recorded != resolved:
        diff = differences(recorded, resolved)
        raise FactorspaceError(
            f"{path}: {diff[0] if diff else 'recipe'}: this run was made by another recipe "
            f"(differs in: {_listed(diff)}); --resume needs the same recipe and --set values"
        )


def _completed(recorded, model: type):
    """``recorded`` validated by ``model`` and dumped as a run records it (new fields at their
    defaults); as it is where it no longer validates (the comparison then shows how it differs)."""
    try:
        return model.model_validate(recorded).model_dump(mode="json")
    except ValueError:  # pydantic's ValidationError; a FieldError
        return recorded


def _read_recipe(path: Path):
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError, ValueError) as e:
        raise FactorspaceError(
            f"{path}: cannot read the run's recipe ({e.__class__.__name__}); cannot --resume"
        ) from None


def _without_limits(recipe):
    """``limits`` guards the start (memory estimate) and changes nothing in the run: a resume
    may raise or lower it, and runs recorded before it existed resume."""
    return (
        {k: v for k, v in recipe.items() if k != "limits"} if isinstance(recipe, dict) else recipe
    )


def _listed(diff: list[str]) -> str:
    return ", ".join(clip(d) for d in diff[:5]) + (
        f" and {len(diff) - 5} more" if len(diff) > 5 else ""
    )


def differences(a, b, prefix: str = "") -> list[str]:
    """The dotted fields where two resolved recipes differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted({*a, *b}, key=str)
            for d in differences(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        ]
    return [] if a == b else [prefix or "recipe"]
