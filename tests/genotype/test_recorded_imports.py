"""Genotype files record the modules of their custom operators; loading one imports them only
when the caller trusts it (issue 26: a genotype is data, opening it runs no code)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import factorspace as fs
from factorspace.genotype import (
    Genotype,
    GenotypeImport,
    get_genotype,
    import_recorded,
    imports_of,
    load_genotype,
    save_genotype,
)
from factorspace.loader.extensions import import_extension
from tests.conftest import ROOT
from tests.genotype.custom_ops import custom_ops_fixture  # noqa: F401  (fixture)


def with_custom_edge(ops) -> Genotype:
    """DARTS V2 with its first normal edge swapped for the custom operator and activation."""
    data = get_genotype("darts_v2").model_dump()
    data["normal"]["edges"][0].update(op=ops.op, inputs={"activation": ops.activation})
    return Genotype.model_validate(data)


def test_a_built_in_genotype_records_nothing_and_its_file_is_unchanged(tmp_path):
    g = get_genotype("darts_v2")
    assert imports_of(g) == []
    data = json.loads(save_genotype(g, tmp_path / "g.json").read_text())
    assert "imports" not in data
    assert load_genotype(tmp_path / "g.json") == g  # a file without `imports` still loads


def test_a_custom_operator_records_its_module_and_folder(custom_ops, tmp_path):
    import_extension(custom_ops.module, folders=[custom_ops.folder])
    g = with_custom_edge(custom_ops)
    recorded = [GenotypeImport(module=custom_ops.module, folder=str(custom_ops.folder.resolve()))]
    assert imports_of(g) == recorded
    path = save_genotype(g, tmp_path / "g.json")
    assert json.loads(path.read_text())["imports"] == [r.model_dump() for r in recorded]
    assert load_genotype(path, registered=True) == g.model_copy(update={"imports": recorded})


PROBE = """
import sys
from factorspace.errors import FactorspaceError
from factorspace.genotype import import_recorded, load_genotype
try:
    load_genotype(sys.argv[1], registered=True)
except FactorspaceError as e:
    print("refused", sys.argv[2] in sys.modules, "--import" in str(e))
g = load_genotype(sys.argv[1])
import_recorded(g, trusted=True)
print(g.normal.edges[0].op, sys.argv[2] in sys.modules)
"""


def fresh_python(*args: str) -> subprocess.CompletedProcess:
    """A new interpreter whose path holds factorspace only, not the operator's folder."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_in_a_fresh_interpreter_the_recorded_module_is_imported_only_when_trusted(
    custom_ops, tmp_path
):
    import_extension(custom_ops.module, folders=[custom_ops.folder])
    path = save_genotype(with_custom_edge(custom_ops), tmp_path / "g.json")
    done = fresh_python("-c", PROBE, str(path), custom_ops.module)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["refused", "False", "True", custom_ops.op, "True"]


def test_a_recorded_module_is_refused_located_in_the_file(custom_ops, tmp_path):
    g = with_custom_edge(custom_ops).model_copy(
        update={"imports": [GenotypeImport(module="gone_i20", folder=str(tmp_path))]}
    )
    path = save_genotype(g, tmp_path / "g.json")
    with pytest.raises(fs.RecipeError) as e:
        load_genotype(path, registered=True)
    line = path.read_text().splitlines().index("    {") + 1
    assert str(e.value) == (
        f"{path}:{line}: imports[0]: {custom_ops.op!r}, {custom_ops.activation!r} are not "
        "registered: the genotype names the module 'gone_i20' for them, and factorspace imports "
        "no module a file names (genotypes are data). If you trust that code, pass --import "
        "gone_i20 (or list it in the recipe's imports:)"
    )
    assert load_genotype(path).imports[0].module == "gone_i20"  # reading alone imports nothing


def test_a_trusted_record_that_is_gone_says_so(custom_ops, tmp_path):
    g = with_custom_edge(custom_ops).model_copy(
        update={"imports": [GenotypeImport(module="gone_i20", folder=str(tmp_path))]}
    )
    with pytest.raises(fs.FactorspaceError) as e:
        import_recorded(g, trusted=True)
    assert str(e.value) == (
        "imports[0]: cannot import module 'gone_i20': ModuleNotFoundError: "
        f"No module named 'gone_i20' on the Python path nor in {tmp_path}"
    )


def test_the_hint_is_the_recorded_file(custom_ops, tmp_path):
    """Given the recorded folder, ``--import`` needs no PYTHONPATH: the message names the file."""
    g = with_custom_edge(custom_ops).model_copy(
        update={
            "imports": [GenotypeImport(module=custom_ops.module, folder=str(custom_ops.folder))]
        }
    )
    with pytest.raises(fs.FactorspaceError) as e:
        import_recorded(g)
    assert str(e.value).endswith(
        f"pass --import {custom_ops.file} (or list it in the recipe's imports:)"
    )
    assert custom_ops.module not in sys.modules
