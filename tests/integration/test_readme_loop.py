"""The README's daily loop (search, train, eval on the bundled data) runs as written, at a reduced
size: each command is the README's line, its globs expanded as a shell does, plus `--set` values
that shrink it (the sizes are the recipes' business; the commands and paths are the README's)."""

from __future__ import annotations

import glob
import json
import re
import shlex

import pytest
import torch
from typer.testing import CliRunner

from factorspace.cli import app
from tests.conftest import ROOT

# What makes each step take seconds instead of minutes
SMALLER = {
    "search": ["search.epochs=1", "data.subset_per_class=0.01", "supernet.cells=3"],
    "train": ["train.epochs=1", "data.subset_per_class=0.01", "network.cells=3"],
    "eval": [],
}


def readme_loop() -> list[str]:
    """The commands of the fenced block under the README's "The daily loop" heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^## The daily loop.*?^```bash\n(.*?)^```$", readme, re.M | re.S)
    assert block, "README.md: no bash block under '## The daily loop'"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


@pytest.mark.slow  # three real runs at a tiny size (about a minute)
def test_the_readmes_daily_loop_runs_as_written(tmp_path, monkeypatch):
    commands = readme_loop()
    assert [c.split()[:2] for c in commands] == [
        ["factorspace", "search"],
        ["factorspace", "train"],
        ["factorspace", "eval"],
    ]
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")  # a fresh clone's layout
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for command in commands:
            args = []
            for word in shlex.split(command)[1:]:
                expanded = sorted(glob.glob(word)) if "*" in word else [word]
                assert expanded, f"{word!r} matches nothing after the earlier steps"
                args += expanded
            step = args[0]
            args += [a for s in SMALLER[step] for a in ("--set", s)]
            result = CliRunner().invoke(app, [*args, "--device", "cpu"])
            assert result.exit_code == 0, (command, result.output)
    finally:
        torch.set_num_threads(threads)
    assert "top-1" in result.output and "3,000 test images" in result.output
    [trained] = glob.glob("runs/train_quick-quickstart-*/")
    record = json.loads((tmp_path / trained / "run.json").read_text())
    assert record["status"] == "complete"
    info = json.loads(CliRunner().invoke(app, ["info", trained, "--json"]).output)
    assert (info["channels"], info["cells"], info["resolution"]) == (16, 3, 16)  # as trained
    assert info["parameters_with_auxiliary"] == info["parameters"]  # train_quick has no tower
