"""Exported networks run where factorspace is not installed and give the same logits."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

from factorspace.errors import FactorspaceError
from factorspace.registry import OPERATORS, register_operator
from factorspace.retrain import create_model
from factorspace.retrain.export import export_source, export_torchscript
from tests.retrain.conftest import DARTS_V2, MIXED, TINY

# Runs in a fresh, isolated interpreter (-I: no PYTHONPATH, no user site, no cwd on the path).
# The editable install puts a finder on sys.meta_path that would still import factorspace, so it
# is blocked outright; the assertion proves it.
WITHOUT_FACTORSPACE = """
import sys
sys.modules["factorspace"] = None
import importlib.util
assert importlib.util.find_spec("factorspace") is None
try:
    import factorspace
except ImportError:
    pass
else:
    raise AssertionError("factorspace is importable")
import torch
"""


def run_without_factorspace(code: str, cwd) -> None:
    script = cwd / "check.py"
    script.write_text(WITHOUT_FACTORSPACE + textwrap.dedent(code))
    result = subprocess.run(
        [sys.executable, "-I", str(script)], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_torchscript_loads_without_factorspace(tmp_path):
    torch.manual_seed(0)
    model = create_model(MIXED, **TINY).train()
    images = torch.randn(2, 3, 16, 16)
    torch.save(images, tmp_path / "images.pt")
    export_torchscript(model, tmp_path / "model.pt", images)
    assert model.training  # restored
    run_without_factorspace(
        """
        model = torch.jit.load("model.pt")
        torch.save(model(torch.load("images.pt")), "logits.pt")
        """,
        tmp_path,
    )
    with torch.no_grad():
        expected = model.eval()(images)
    torch.testing.assert_close(torch.load(tmp_path / "logits.pt"), expected)


@pytest.mark.parametrize(
    ("genotype", "dataset", "sizes", "side"),
    [
        (MIXED, "cifar10", TINY, 32),
        (DARTS_V2, "imagenet", {"channels": 4, "cells": 3, "classes": 5}, 224),
    ],
)
def test_source_gives_the_same_logits_without_factorspace(tmp_path, genotype, dataset, sizes, side):
    torch.manual_seed(0)
    model = create_model(genotype, dataset, **sizes)
    _train_batchnorm_statistics(model, side)
    images = torch.randn(2, 3, side, side)
    torch.save(images, tmp_path / "images.pt")
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    path = export_source(genotype, tmp_path / "network.py", dataset, **sizes)
    run_without_factorspace(
        """
        spec = importlib.util.spec_from_file_location("network", "network.py")
        network = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(network)
        model = network.build()
        model.load_state_dict(torch.load("weights.pt"))
        with torch.no_grad():
            torch.save(model.eval()(torch.load("images.pt")), "logits.pt")
        """,
        tmp_path,
    )
    with torch.no_grad():
        expected = model.eval()(images)
    torch.testing.assert_close(torch.load(tmp_path / "logits.pt"), expected)
    text = path.read_text()
    assert "factorspace import" not in text and "import factorspace" not in text
    assert "def build(" in text and "GENOTYPE = {" in text


def _train_batchnorm_statistics(model: nn.Module, side: int) -> None:
    """One training forward, so running statistics differ from their initial values."""
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, side, side))


def test_source_writes_each_edge_as_torch_modules(tmp_path):
    text = export_source(MIXED, tmp_path / "mixed.py", **TINY).read_text()
    assert "# 1 -> 2: sep_conv, activation=prelu, kernel_size=5" in text
    assert "nn.Conv2d(c, c, 5, padding=2, groups=c, bias=False)" in text
    assert "class Swish(nn.Module):" in text  # a non-torch activation travels as source
    assert '{"activation": nn.LeakyReLU(), "gate": nn.ReLU6()}' in text


class _Opaque(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        return self.conv(x)


@pytest.fixture
def opaque_operator():
    register_operator("opaque_test_op")(lambda c, stride, affine: _Opaque(c))
    yield "opaque_test_op"
    OPERATORS.remove("opaque_test_op")


def test_source_refuses_a_module_it_cannot_write(tmp_path, opaque_operator):
    data = DARTS_V2.model_dump()
    data["normal"]["edges"][0]["op"] = opaque_operator
    genotype = type(DARTS_V2).model_validate(data)
    with pytest.raises(FactorspaceError, match="'channels' is not an attribute.*export_program"):
        export_source(genotype, tmp_path / "x.py", **TINY)
    assert not (tmp_path / "x.py").exists()
