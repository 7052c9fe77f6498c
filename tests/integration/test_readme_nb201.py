"""The README's two-minute NAS-Bench-201 line runs as written, at a reduced size, and ends with the
found cell's looked-up accuracy beside a random cell's (the README's promise to a newcomer)."""

from __future__ import annotations

import re
import shlex

import pytest
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.evidence import nb201
from tests.conftest import ROOT
from tests.search.tiny import one_thread

SMALLER = ["search.epochs=1", "data.subset_per_class=0.02", "supernet.cells_per_stage=1"]


def readme_line() -> str:
    """The one command of the fenced block under the README's "NAS-Bench-201 in two minutes"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(
        r"^## NAS-Bench-201 in two minutes.*?^```bash\n(.*?)^```$", readme, re.M | re.S
    )
    assert block, "README.md: no bash block under '## NAS-Bench-201 in two minutes'"
    (line,) = [x.split("#")[0].strip() for x in block.group(1).splitlines() if x.strip()]
    return line


@pytest.mark.slow  # a real search at a tiny size (seconds)
def test_the_readmes_nb201_line_prints_the_found_cell_beside_a_random_one(tmp_path, monkeypatch):
    words = shlex.split(readme_line())
    assert words[:2] == ["factorspace", "search"] and words[2] == "recipes/nb201_quick.yaml"
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")  # a fresh clone's layout
    monkeypatch.chdir(tmp_path)
    args = [*words[1:], *(a for s in SMALLER for a in ("--set", s)), "--device", "cpu"]
    with one_thread():
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    found = re.search(r"derived cell (\S+): NB201 CIFAR-10 ([\d.]+) %", result.output)
    assert found, result.output
    assert float(found.group(2)) == round(nb201.load_table().lookup(found.group(1)).cifar10, 2)
    assert "beside it on CIFAR-10: a random cell 87.06 % on average" in result.output
    assert "the best cell 94.37 %" in result.output
