"""RunDir's paths for the run log and a --seeds parent's seed runs."""

from __future__ import annotations

from factorspace.run.rundir import RunDir


def test_run_log_is_in_the_run_directory(tmp_path):
    assert RunDir(tmp_path).run_log == tmp_path / "run.log"


def test_a_seeds_parent_and_its_seeds_in_numeric_order(tmp_path):
    for name in ("seed_10", "seed_2", "seed_0", "retrain", "seed_x"):
        (tmp_path / name).mkdir()
    (tmp_path / "seed_3").write_text("a file, not a run")
    parent = RunDir(tmp_path)
    assert parent.is_seed_parent()
    assert parent.seeds() == [0, 2, 10]
    assert not RunDir(tmp_path / "seed_0").is_seed_parent()  # no seed_N under it
    (tmp_path / "run.json").write_text("{}")
    assert not parent.is_seed_parent()  # a run of its own
    assert not RunDir(tmp_path / "missing").is_seed_parent()
