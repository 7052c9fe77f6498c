"""A genotype's (or a checkpoint's) ``imports:`` are not imported without the user's consent.

The module the crafted genotype names writes a marker file when imported, and registers the
operator and activation the genotype uses. Every command that reads a genotype refuses it with one
message naming the module and ``--import`` (exit 2), importing nothing; with ``--import FILE`` the
same command works.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.genotype import Genotype, GenotypeImport, get_genotype, save_genotype
from factorspace.loader.extensions import import_extension
from factorspace.retrain.recipe import load_train_recipe
from factorspace.retrain.train import train
from tests.genotype.custom_ops import SOURCE, CustomOps, forget
from tests.retrain.test_train import mini_imagefolder
from tests.search.tiny import one_thread

TINY_TRAIN = Path(__file__).resolve().parents[1] / "study" / "tiny_train.yaml"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def crafted(tmp_path_factory) -> tuple[CustomOps, Path, Path]:
    """The module (writing ``MARKER`` on import), a genotype naming it, and a re-training run
    of that genotype (made with the module imported, then forgotten)."""
    d = tmp_path_factory.mktemp("untrusted")
    tag = uuid.uuid4().hex[:8]
    ops = CustomOps(f"marker_ops_{tag}", d / "elsewhere", f"conv1x1_{tag}", f"hardswish_{tag}")
    ops.folder.mkdir()
    marker = d / "MARKER"
    ops.file.write_text(
        SOURCE.format(op=ops.op, activation=ops.activation)
        + f"\nimport pathlib\npathlib.Path({str(marker)!r}).touch()\n"
    )
    data = get_genotype("darts_v2").model_dump()
    data["normal"]["edges"][0].update(op=ops.op, inputs={"activation": ops.activation})
    data["imports"] = [GenotypeImport(module=ops.module, folder=str(ops.folder))]
    genotype = Genotype.model_validate(data)
    save_genotype(genotype, d / "g.json")
    import_extension(str(ops.file))
    data_root = mini_imagefolder(d / "data", train_per_class=2, test_per_class=1)
    data = ["data.dataset=imagefolder", f"data.root={data_root}", "data.subset_per_class=null"]
    train(genotype, load_train_recipe(TINY_TRAIN, data), out=d / "trained", device="cpu")
    forget(ops)
    marker.unlink()
    yield ops, d, marker


def commands(d: Path) -> dict[str, list[str]]:
    return {
        "info": ["info", str(d / "g.json")],
        "render": ["render", str(d / "g.json"), "-o", str(d / "out" / "cells.gv")],
        "train": [
            *("train", str(d / "g.json"), "--recipe", str(TINY_TRAIN), "--device", "cpu"),
            *("--set", "data.dataset=imagefolder", "--set", f"data.root={d / 'data'}"),
            *("--set", "data.subset_per_class=null", "--out", str(d / "out" / "train")),
        ],
        "eval": ["eval", str(d / "trained"), "--device", "cpu"],
        "export genotype": ["export", str(d / "g.json"), "-o", str(d / "out" / "g.py")],
        "export checkpoint": ["export", str(d / "trained"), "-o", str(d / "out" / "t.py")],
        "genotype set-activation": [
            *("genotype", "set-activation", str(d / "g.json"), "relu"),
            *("-o", str(d / "out" / "relu.json")),
        ],
    }


@pytest.mark.parametrize("command", list(commands(Path("."))))
def test_a_genotype_imports_nothing_without_consent(crafted, command):
    ops, d, marker = crafted
    result = CliRunner().invoke(app, commands(d)[command])
    assert not marker.exists()
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert f"the genotype names the module '{ops.module}'" in line, line
    assert f"pass --import {ops.file}" in line, line
    assert not (d / "out" / "train").exists()  # a refused train leaves no run directory


@pytest.mark.parametrize("command", list(commands(Path("."))))
def test_with_import_it_works(crafted, command, tmp_path):
    ops, d, marker = crafted
    args = commands(d)[command]
    args = [a.replace(str(d / "out"), str(tmp_path)) for a in args]
    try:
        result = CliRunner().invoke(app, [*args, "--import", str(ops.file)])
        assert result.exit_code == 0, result.output + result.stderr
        assert marker.exists()  # imported because the user said so
    finally:
        forget(ops)
        marker.unlink(missing_ok=True)


def test_a_checkpoint_recipe_s_imports_need_consent_too(crafted, tmp_path):
    """A train recipe's ``imports:``, as a checkpoint carries it, is data too."""
    ops, d, marker = crafted
    from factorspace.run.checkpoint import load_checkpoint, save_checkpoint

    state = load_checkpoint(d / "trained" / "checkpoints" / "last.pt")
    state["genotype"] = get_genotype("darts_v2").model_dump(mode="json")
    state["recipe"]["imports"] = [str(ops.file)]
    state["model"] = {}  # never reached
    save_checkpoint(tmp_path / "c.pt", state)
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "c.pt"), "--device", "cpu"])
    assert not marker.exists()
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'c.pt'}: imports[0]: names the module")
    assert f"pass --import {ops.file}" in result.stderr


def test_the_genotype_file_is_located(crafted):
    ops, d, _ = crafted
    result = CliRunner().invoke(app, ["info", str(d / "g.json")])
    line = json.dumps(json.loads((d / "g.json").read_text()), indent=2).splitlines()
    imports_line = line.index('  "imports": [') + 2  # the first entry's line
    assert result.stderr.startswith(f"error: {d / 'g.json'}:{imports_line}: imports[0]: ")
