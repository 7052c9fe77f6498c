"""Resuming a run: only with the recipe that made it."""

from __future__ import annotations

from pathlib import Path

import yaml

from factorspace.errors import FactorspaceError
from factorspace.run.rundir import RunDir


def check_same_recipe(run_dir: Path, resolved: dict) -> None:
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
        for r in (recorded, resolved)
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
