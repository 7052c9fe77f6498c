"""A search resumed after its per-epoch records were deleted or edited puts them back from the
checkpoint, says so, and ends as the uninterrupted run."""

from __future__ import annotations

import pytest

from factorspace.run.resume import RecordsRestored
from factorspace.run.rundir import RunDir
from factorspace.search import Interrupted, search
from tests.search.tiny import (
    assert_same_alphas,
    final_alphas,
    interrupt_at,
    one_thread,
    tiny_recipe,
)


def test_deleted_and_edited_epoch_records_are_put_back_on_resume(tmp_path, monkeypatch):
    reference = RunDir(tmp_path / "reference")
    with one_thread():
        search(tiny_recipe(), out=reference.root, device="cpu")
    paths = RunDir(tmp_path / "run")
    interrupt_at(monkeypatch, 13)  # in epoch 2: the checkpoint holds epoch 1's records
    with one_thread(), pytest.raises(Interrupted):
        search(tiny_recipe(), out=paths.root, device="cpu")
    monkeypatch.undo()
    paths.arch(1).unlink()
    paths.epoch_genotype(1).write_text("{}")
    with one_thread(), pytest.warns(RecordsRestored) as said:
        search(tiny_recipe(), out=paths.root, device="cpu", resume=True)
    assert [str(w.message) for w in said] == [
        f"{paths.arch(1)}: missing; rewritten from the checkpoint {paths.checkpoint}",
        f"{paths.epoch_genotype(1)}: differs from the checkpoint's copy; rewritten from the "
        f"checkpoint {paths.checkpoint}",
    ]
    for epoch in (1, 2):
        assert paths.arch(epoch).read_text() == reference.arch(epoch).read_text().replace(
            str(reference.root), str(paths.root)
        )
    assert_same_alphas(final_alphas(paths.root), final_alphas(reference.root))
