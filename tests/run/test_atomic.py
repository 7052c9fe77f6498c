"""Atomic writes: the old file or the new one, never half of one, readable by the team."""

from __future__ import annotations

import json
import stat

import pytest
import yaml

from factorspace.run.atomic import atomic_write, atomic_write_text, dump_yaml, write_json


def test_writes_create_parents_and_hold_the_content(tmp_path):
    write_json(tmp_path / "a" / "b.json", {"x": [1, 2]})
    dump_yaml(tmp_path / "c.yaml", {"k": "v", "a": 1})
    assert json.loads((tmp_path / "a" / "b.json").read_text()) == {"x": [1, 2]}
    assert (tmp_path / "c.yaml").read_text() == "k: v\na: 1\n"  # key order kept
    assert yaml.safe_load((tmp_path / "c.yaml").read_text()) == {"k": "v", "a": 1}


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")

    def half(f):
        f.write(b"ne")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        atomic_write(path, half)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_written_files_are_readable_by_others(tmp_path):
    atomic_write_text(tmp_path / "f.txt", "x")
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644
