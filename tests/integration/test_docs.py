"""The documentation site builds strictly, and its examples run."""

from __future__ import annotations

import doctest
import importlib
import os
import runpy
import subprocess
import sys

import pytest

from factorspace.registry import ACTIVATIONS, OPERATORS
from tests.conftest import ROOT

EXAMPLES = ROOT / "docs" / "examples"
DOCTEST_MODULES = ["factorspace.schemas", "factorspace.retrain.info"]


def test_mkdocs_build_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install the docs extra: pip install -e '.[dev,docs]'")
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp_path / "site"
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "factorspace search" in cli and "factorspace schema" in cli
    schema = (site / "reference" / "schema" / "index.html").read_text(encoding="utf-8")
    assert "partial_channels" in schema and "label_smoothing" in schema
    assert "load_recipe" in (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")


def test_space_in_python_example_runs(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(EXAMPLES / "space_in_python.py"), run_name="__main__")
    assert "(2, 10)" in capsys.readouterr().out


def test_user_module_example_loads_from_yaml(monkeypatch):
    from factorspace.loader import load_recipe

    monkeypatch.syspath_prepend(str(EXAMPLES))
    try:
        recipe = load_recipe(EXAMPLES / "my_space.yaml")
        assert "conv_1x1" in recipe.space.operator.choices
        assert "hardswish" in recipe.space.factor("activation").choices
    finally:
        for registry, name in ((ACTIVATIONS, "hardswish"), (OPERATORS, "conv_1x1")):
            if name in registry:
                registry.remove(name)
        sys.modules.pop("my_ops", None)


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples(module, monkeypatch):
    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testmod(importlib.import_module(module), verbose=False)
    assert tried > 0 and failures == 0
