"""torch.export and ONNX files load without factorspace's classes and give the eval-mode logits."""

from __future__ import annotations

import sys

import pytest
import torch

from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype
from factorspace.registry import ACTIVATIONS, OPERATORS
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


def _single_activation(name: str) -> Genotype:
    """Both cells: a separable convolution behind ``name``, and a skip connection."""
    cell = {
        "edges": [
            {"source": 0, "target": 2, "op": "sep_conv_3x3", "inputs": {"activation": name}},
            {"source": 1, "target": 2, "op": "skip_connect"},
        ],
        "concat": [2],
    }
    return Genotype.model_validate({"name": name, "normal": cell, "reduce": cell})


def _every_operator() -> Genotype:
    """Both cells: every registered operator (but ``none``) on an edge, three edges a node."""
    edges = []
    for k, name in enumerate(n for n in OPERATORS.names() if n != "none"):
        edge = {"source": k % 2 if k < 6 else k // 3, "target": 2 + k // 3, "op": name}
        if "parameterized" in OPERATORS.get(name).tags:
            edge["inputs"] = {"activation": "relu"}
        edges.append(edge)
    cell = {"edges": edges, "concat": sorted({e["target"] for e in edges})}
    return Genotype.model_validate({"name": "operators", "normal": cell, "reduce": cell})


def _assert_onnx_equals_eval(model, path, ort) -> None:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    images = torch.randn(3, 3, 8, 8)
    (logits,) = session.run(None, {"images": images.numpy()})
    torch.testing.assert_close(
        torch.from_numpy(logits), eval_logits(model, images), rtol=1e-4, atol=1e-5
    )


@pytest.mark.slow  # an export each (about 2 s)
@pytest.mark.parametrize("activation", ACTIVATIONS.names())
def test_every_registered_activation_exports_to_onnx_and_runs_as_in_eval(activation, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    torch.manual_seed(0)
    model = create_model(
        _single_activation(activation), channels=4, cells=2, auxiliary=False
    ).train()
    images = torch.randn(2, 3, 8, 8)
    torch.manual_seed(1)
    before = model(images)  # training: RReLU draws its slopes
    export_onnx(model, tmp_path / "model.onnx", images)
    _assert_onnx_equals_eval(model, tmp_path / "model.onnx", ort)
    torch.manual_seed(1)
    torch.testing.assert_close(model(images), before, rtol=0, atol=0)  # training as it was


@pytest.mark.slow
def test_every_registered_operator_exports_to_onnx_and_runs_as_in_eval(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    torch.manual_seed(0)
    model = create_model(_every_operator(), channels=4, cells=2, auxiliary=False).train()
    with torch.no_grad():
        model(torch.randn(4, 3, 8, 8))  # batch-norm statistics off their start
    export_onnx(model, tmp_path / "model.onnx", torch.randn(2, 3, 8, 8))
    _assert_onnx_equals_eval(model, tmp_path / "model.onnx", ort)
