"""The genotype package imports no torch: reading, checking and converting genotypes is plain Python.

The probe runs in a fresh interpreter with a bare ``factorspace`` package module in place of
``factorspace/__init__.py`` (which imports the whole API, the supernet included), so it sees the
imports of the genotype modules themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

MODULES = [
    "factorspace.genotype.model",
    "factorspace.genotype.io",
    "factorspace.genotype.darts",
    "factorspace.genotype.darts_files",
    "factorspace.genotype.imports",
    "factorspace.genotype.check",
    "factorspace.genotype.zoo",
    "factorspace.genotype",
]

PROBE = """
import importlib, json, sys, types
root = types.ModuleType("factorspace")
root.__path__ = [{package!r}]
sys.modules["factorspace"] = root
pulled = {{}}
for name in {modules!r}:
    importlib.import_module(name)
    pulled[name] = "torch" in sys.modules
print(json.dumps(pulled))
"""


def test_genotype_modules_import_no_torch():
    code = PROBE.format(package=str(ROOT / "factorspace"), modules=MODULES)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == dict.fromkeys(MODULES, False)
