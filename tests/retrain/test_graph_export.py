"""torch.export and ONNX files load without factorspace's classes and give the eval-mode logits."""

from __future__ import annotations

import sys

import pytest
import torch

from factorspace.errors import FactorspaceError
from factorspace.retrain import create_model
from factorspace.retrain.export import export_onnx, export_program
from tests.retrain.conftest import MIXED, TINY
from tests.retrain.test_export import run_without_factorspace


@pytest.fixture
def model():
    """MIXED at a tiny size, in training mode, its batch-norm statistics moved off their start."""
    torch.manual_seed(0)
    model = create_model(MIXED, **TINY).train()
    with torch.no_grad():
        model(torch.randn(4, 3, 32, 32))
    return model


def eval_logits(model, images):
    with torch.no_grad():
        logits = model.eval()(images)
    model.train()
    return logits


@pytest.mark.slow  # each export traces the network (seconds)
def test_torch_export_program_loads_and_gives_the_eval_logits_at_any_batch_size(model, tmp_path):
    path = tmp_path / "model.pt2"
    export_program(model, path, torch.randn(1, 3, 32, 32))
    assert model.training  # restored
    images = torch.randn(3, 3, 32, 32)
    torch.save(images, tmp_path / "images.pt")
    run_without_factorspace(
        """
        program = torch.export.load("model.pt2")
        images = torch.load("images.pt")
        torch.save([program.module()(images[:n]) for n in (1, 3)], "logits.pt")
        """,
        tmp_path,
    )
    logits = torch.load(tmp_path / "logits.pt")
    for n, got in zip((1, 3), logits, strict=True):
        torch.testing.assert_close(got, eval_logits(model, images[:n]))


@pytest.mark.slow
def test_onnx_file_runs_in_onnxruntime_and_gives_the_eval_logits(model, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    path = tmp_path / "model.onnx"
    export_onnx(model, path, torch.randn(2, 3, 32, 32))
    assert model.training
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # the weights are inside
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    for batch in (1, 5):
        images = torch.randn(batch, 3, 32, 32)
        (logits,) = session.run(None, {"images": images.numpy()})
        torch.testing.assert_close(
            torch.from_numpy(logits), eval_logits(model, images), rtol=1e-4, atol=1e-5
        )


@pytest.mark.parametrize("package", ["onnx", "onnxscript"])
def test_onnx_without_its_packages_says_what_to_install(model, tmp_path, monkeypatch, package):
    monkeypatch.setitem(sys.modules, package, None)  # import fails as if not installed
    with pytest.raises(FactorspaceError, match=rf"ONNX export needs {package}: pip install"):
        export_onnx(model, tmp_path / "model.onnx", torch.randn(2, 3, 32, 32))
    assert not (tmp_path / "model.onnx").exists()
