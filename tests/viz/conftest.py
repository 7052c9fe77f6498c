"""A finished tiny search run that the plot, record and report tests read (made once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import factorspace as fs
from factorspace.search import search
from tests.search.test_loop import TINY  # the tiny search every run-directory test uses


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-epoch search on the bundled data (about 15 s); tests must not change it."""
    run_dir = tmp_path_factory.getbasetemp() / "tiny_search"
    if not (run_dir / "genotype.json").is_file():
        shutil.rmtree(run_dir, ignore_errors=True)
        recipe = fs.load_recipe("recipes/adarts_cifar.yaml", TINY)
        search(recipe, out=run_dir, device="cpu")
    return run_dir
