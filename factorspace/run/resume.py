"""Resuming a run: only with the recipe that made it, and with the records its checkpoint
depends on as the checkpoint kept them."""

from __future__ import annotations

import warnings
from pathlib import Path

import yaml

from factorspace.errors import FactorspaceError
from factorspace.run.changed_defaults import as_it_ran
from factorspace.run.checkpoint import restore_records
from factorspace.run.rundir import RunDir


class RecordsRestored(UserWarning):
    """A resume found a record file (``arch/epoch_NNN.json``, ``genotypes/...``, a re-training's
    ``genotype.json``) missing or changed, and rewrote it from the checkpoint."""


def check_resumable(run_dir: Path, resolved: dict) -> None:
    """Refuse to resume ``run_dir`` with a recipe other than the one it recorded; then put back
    the record files its checkpoint depends on where they are missing or differ from the
    checkpoint's copies, each said by a :class:`RecordsRestored` warning.

    Raises:
        FactorspaceError: another recipe; an unreadable checkpoint; a record that cannot be
            written back.
    """
    check_recorded_recipe(run_dir, resolved)
    checkpoint = RunDir(run_dir).checkpoint
    if not checkpoint.exists():  # nothing to resume from: the run starts again (rundir)
        return
    for note in restore_records(run_dir, checkpoint):
        warnings.warn(note, RecordsRestored, stacklevel=2)


check_same_recipe = check_resumable  # the name the search and the re-training call it by


def check_recorded_recipe(run_dir: Path, resolved: dict) -> None:
    """Refuse to resume ``run_dir`` with a recipe other than the one it recorded."""
    path = RunDir(run_dir).recipe
    try:
        recorded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise FactorspaceError(
            f"{path}: cannot read the run's recipe ({e.__class__.__name__}); cannot --resume"
        ) from None
    # `limits` guards the start (memory estimate) and changes nothing in the run: a resume may
    # raise or lower it, and runs recorded before it existed resume.
    recorded, resolved = (
        {k: v for k, v in r.items() if k != "limits"} if isinstance(r, dict) else r
        for r in (as_it_ran(recorded), resolved)
    )
    if recorded != resolved:
        diff = differences(recorded, resolved)
        shown = ", ".join(diff[:5]) + (f" and {len(diff) - 5} more" if len(diff) > 5 else "")
        raise FactorspaceError(
            f"{path}: {diff[0] if diff else 'recipe'}: this run was made by another recipe "
            f"(differs in: {shown}); --resume needs the same recipe and --set values"
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
