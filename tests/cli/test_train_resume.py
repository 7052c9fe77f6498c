"""`train --resume RUN` on a real (tiny) re-training: accepted with the recorded values, the
header's resume command whole, progress lines in run.log."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.run.rundir import RunDir
from tests.retrain.test_train import mini_imagefolder, tiny
from tests.search.tiny import one_thread


def test_train_resume_from_the_run_directory_alone(tmp_path):
    run = tmp_path / "train"
    overrides = [
        a for o in tiny(mini_imagefolder(tmp_path / "data"), "train.epochs=1") for a in ("--set", o)
    ]
    runner = CliRunner()
    with one_thread():
        first = runner.invoke(
            app,
            [
                "train",
                "darts_v2",
                *overrides,
                "--max-steps",
                "2",
                "--log-every",
                "0",
                "--device",
                "cpu",
                "--out",
                str(run),
            ],
        )
        assert first.exit_code == 0, first.output
        assert f"resume with: factorspace train --resume {run}" in first.stdout
        logged = RunDir(run).run_log.read_text().splitlines()
        assert [line.split("  ")[1] for line in logged if " step " in line] == [
            "step 1/2 (of 7)",  # the progress runs to --max-steps
            "step 2/2 (of 7)",
        ]
        again = runner.invoke(app, ["train", "--resume", str(run), "--device", "cpu"])
    assert again.exit_code == 0, again.output
    assert "test top-1" in again.stdout
    assert json.loads(RunDir(run).record.read_text())["status"] == "complete"
