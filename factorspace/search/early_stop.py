"""Stopping a search whose normal cell collapses into skip-connects (``early_stop_skip_count``)."""

from __future__ import annotations

from factorspace.schema import SearchConfig


def collapse_reason(rows: list[dict], epoch: int, config: SearchConfig) -> str | None:
    """Why to stop after ``epoch`` epochs (``search.early_stop_skip_count``), judged on the last
    of the metrics ``rows``; None to go on. An epoch of the warm-up, which leaves the
    architecture alone, never stops."""
    limit = config.early_stop_skip_count
    if limit is None or not rows or epoch <= config.warmup_epochs:
        return None
    count = rows[-1]["normal_skip_count"]
    if count <= limit:
        return None
    return (
        f"epoch {epoch}: the normal cell has {count} skip-connects, more than "
        f"search.early_stop_skip_count = {limit}"
    )
