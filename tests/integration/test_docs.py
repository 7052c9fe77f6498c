"""The documentation site builds strictly, and its examples run."""

from __future__ import annotations

import doctest
import html
import importlib
import os
import re
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
    assert "not included in the" not in result.stderr  # every page in the nav, or marked not_in_nav
    site = tmp_path / "site"
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "factorspace search" in cli and "factorspace schema" in cli
    schema = (site / "reference" / "schema" / "index.html").read_text(encoding="utf-8")
    assert "partial_channels" in schema and "label_smoothing" in schema
    assert "load_recipe" in (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    check_snippets_expanded(site)


SNIPPET = re.compile(r'^--8<-- "([^":]+)(?::([\w-]+))?"$', re.M)


def included_lines(path: str, section: str | None) -> list[str]:
    """The code lines a pymdownx.snippets include brings in (its section, if named)."""
    text = (ROOT / path).read_text()
    if section:
        text = text.split(f"[start:{section}]", 1)[1].split(f"[end:{section}]", 1)[0]
    lines = [line.strip() for line in text.splitlines()[1:]]
    return [line for line in lines if line and not line.startswith("#")]


def check_snippets_expanded(site) -> None:
    """Every `--8<--` include of every page shows the included code in the built page, and no
    page shows the include line itself (mangled, e.g. by a formatter, it stays as text)."""
    pages = sorted((ROOT / "docs").glob("*.md"))
    assert any(SNIPPET.search(p.read_text()) for p in pages)
    for page in pages:
        built = site / page.stem / "index.html"
        if page.stem == "index":
            built = site / "index.html"
        text = html.unescape(re.sub(r"<[^>]+>", "", built.read_text(encoding="utf-8")))
        assert "--8<--" not in text and "--8 <" not in text, f"{page.name}: an include not expanded"
        for path, section in SNIPPET.findall(page.read_text()):
            first = included_lines(path, section or None)[0]
            assert first in text, f"{page.name}: {path}:{section} not shown ({first!r})"


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
