"""Recipe fields whose default changed after runs were recorded without them.

A run's ``recipe.yaml`` records every field of the recipe it ran with, as the schema of its
day had them. A field added later with a default other than the behaviour before it would make
such a run resume differently (``--resume RUN`` loads the recorded file, and the missing field
takes the new default) or be refused as "made by another recipe". :data:`RAN_WITHOUT` says what
such a run ran with; ``--resume`` and the resume check complete a recorded recipe with it.
Importable without torch (the CLI reads it before starting anything).
"""

from __future__ import annotations

import json

# Fields whose default changed after runs were recorded without them, with the value such a run
# ran with: a recorded recipe.yaml that lacks one resumes with that value, and compares equal to
# a recipe that sets it. supernet.fused_activation: off until 2026-12-06 (issue 28), on since;
# supernet.rrelu_noise: torch's draws until 2026-12-07 (issue 28), hashed since.
RAN_WITHOUT: dict[tuple[str, str], object] = {
    ("supernet", "fused_activation"): False,
    ("supernet", "rrelu_noise"): "torch",
}


def as_it_ran(recorded: dict) -> dict:
    """``recorded`` (a run's recipe.yaml as a dict) with each :data:`RAN_WITHOUT` field it lacks
    set to the value the run ran with; sections it does not have (a re-training's ``supernet``)
    stay absent."""
    if not isinstance(recorded, dict):
        return recorded
    out = dict(recorded)
    for (section, field), value in RAN_WITHOUT.items():
        if isinstance(out.get(section), dict) and field not in out[section]:
            out[section] = {**out[section], field: value}
    return out


def as_it_ran_overrides(recorded: dict) -> list[str]:
    """``--set`` items that give a recipe loaded from ``recorded`` the values it ran with where
    it lacks a :data:`RAN_WITHOUT` field (``--resume RUN`` loads the recorded recipe.yaml)."""
    if not isinstance(recorded, dict):
        return []
    return [
        f"{section}.{field}={json.dumps(value)}"  # JSON is YAML: --set reads it back
        for (section, field), value in RAN_WITHOUT.items()
        if isinstance(recorded.get(section), dict) and field not in recorded[section]
    ]
