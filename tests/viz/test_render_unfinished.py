"""`factorspace render RUN` on a run that has not finished: the latest epoch's genotype, said."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from factorspace.cli import app


def render(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["render", *map(str, args), "--format", "gv"])
    return result.exit_code, result.stdout, result.stderr


def test_an_unfinished_run_draws_its_latest_epoch_and_says_so(run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("checkpoints", "plots"))
    (run / "genotype.json").unlink()  # as while it runs, or after an interruption
    code, _, err = render(run, "-o", tmp_path / "unfinished.gv")
    assert code == 0, err
    latest = run / "genotypes" / "epoch_002.json"
    assert err.strip() == f"run not finished: drawing epoch 2 of 2 ({latest})"
    code, _, _ = render(latest, "-o", tmp_path / "latest.gv")
    assert code == 0
    for cell in ("normal", "reduce"):
        drawn = (tmp_path / f"unfinished_{cell}.gv").read_text()
        assert drawn == (tmp_path / f"latest_{cell}.gv").read_text()


def test_a_finished_run_draws_its_genotype_without_a_note(run_dir, tmp_path):
    code, out, err = render(run_dir, "-o", tmp_path / "done.gv")
    assert code == 0 and err == ""
    assert f"wrote {tmp_path / 'done_normal.gv'}" in out


def test_a_run_without_any_epoch_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    code, _, err = render(tmp_path / "run", "-o", tmp_path / "x.gv")
    assert code == 2 and "genotype.json" in err
