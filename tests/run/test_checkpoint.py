"""Checkpoints: written whole, read back with errors that say what is wrong."""

from __future__ import annotations

import pytest
import torch

from factorspace.errors import FactorspaceError
from factorspace.run.checkpoint import load_checkpoint, save_checkpoint


def test_a_checkpoint_round_trips(tmp_path):
    state = {"epoch": 2, "w": torch.arange(4.0), "nested": {"a": [1, 2]}}
    save_checkpoint(tmp_path / "checkpoints" / "last.pt", state)
    loaded = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert loaded["epoch"] == 2 and loaded["nested"] == {"a": [1, 2]}
    assert torch.equal(loaded["w"], state["w"])


def test_a_missing_checkpoint_says_there_is_none(tmp_path):
    with pytest.raises(FactorspaceError, match="last.pt: no checkpoint to resume from"):
        load_checkpoint(tmp_path / "last.pt")


def test_a_truncated_checkpoint_says_so(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"w": torch.zeros(1000)})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(FactorspaceError, match=r"last.pt: checksum mismatch: .* a truncation"):
        load_checkpoint(path)


def test_a_truncated_checkpoint_without_a_checksum_says_so(tmp_path):
    path = tmp_path / "last.pt"
    torch.save({"w": torch.zeros(1000)}, path)  # as written before checksums
    assert load_checkpoint(path)["w"].shape == (1000,)  # read unchecked
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(FactorspaceError, match="not a readable checkpoint .* truncated or corrupt"):
        load_checkpoint(path)


@pytest.mark.parametrize("where", ["checksum", "middle", "end"])
def test_a_flipped_bit_is_refused_naming_the_file(tmp_path, where):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"w": torch.arange(1000.0)})
    data = bytearray(path.read_bytes())
    at = {"checksum": len(b"factorspace-checkpoint sha256=") + 3, "middle": len(data) // 2}
    data[at.get(where, -1)] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(FactorspaceError) as e:
        load_checkpoint(path)
    assert str(e.value).startswith(f"{path}: checksum mismatch: the checkpoint changed after it")
