"""Export a network's inference graph: ``torch.export`` (``.pt2``), ONNX and TorchScript.

Each traces the model in eval mode (no drop path, no auxiliary head: the graph returns logits)
at the example's image size and restores the model's training mode. ``torch.export`` and ONNX
keep the batch size dynamic; TorchScript, deprecated by PyTorch since 2.9, fixes it.

ONNX has no operator for some of torch's eval-mode activations: before conversion the traced
graph's eval-only forms are rewritten as the operators they compute (:data:`EVAL_DECOMPOSITIONS`;
RReLU in eval is LeakyReLU with the mean slope). Training is untouched: the rewrite applies to the
exported graph only.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from factorspace.errors import FactorspaceError

INPUT_NAME, OUTPUT_NAME = "images", "logits"  # the ONNX graph's input and output
ONNX_PACKAGES = "pip install 'factorspace[onnx]' (onnx, onnxscript and onnxruntime)"


def export_program(model: nn.Module, path: str | Path, example: torch.Tensor):
    """Export ``model`` with :func:`torch.export.export` and save it to ``path`` (``.pt2``).

    ``torch.export.load(path).module()`` reads it back without factorspace and takes any batch
    size at ``example``'s image size.

    Returns:
        The ``torch.export.ExportedProgram``.
    """
    example = _batch_of_two(example)
    with _inference(model):
        program = torch.export.export(model, (example,), dynamic_shapes=_dynamic_batch())
    torch.export.save(program, str(path))
    return program


def export_onnx(model: nn.Module, path: str | Path, example: torch.Tensor) -> Path:
    """Export ``model`` to ONNX with torch's ``torch.export``-based exporter; write ``path``.

    The graph has one input, ``images`` (any batch size, ``example``'s image size), and one
    output, ``logits``; the weights are inside the file. ``onnxruntime.InferenceSession(path)``
    runs it.

    Raises:
        FactorspaceError: onnx or onnxscript is not installed (``pip install 'factorspace[onnx]'``).
    """
    for package in ("onnx", "onnxscript"):
        try:
            __import__(package)
        except ImportError:
            raise FactorspaceError(f"ONNX export needs {package}: {ONNX_PACKAGES}") from None
    example = _batch_of_two(example)
    with _inference(model):
        traced = torch.export.export(model, (example,), dynamic_shapes=_dynamic_batch())
        program = torch.onnx.export(
            traced.run_decompositions(EVAL_DECOMPOSITIONS),
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            verbose=False,
        )
    program.save(str(path))  # weights inside the file (a DARTS network is far below 2 GB)
    return Path(path)


def export_torchscript(model: nn.Module, path: str | Path, example: torch.Tensor):
    """Trace ``model`` in eval mode on ``example`` and save it to ``path`` (deprecated format).

    PyTorch deprecates TorchScript from 2.9 (:func:`export_program` is its successor). The file
    holds the inference graph for inputs of ``example``'s size; ``torch.jit.load(path)`` reads it
    without factorspace.

    Returns:
        The traced ``torch.jit.ScriptModule``.
    """
    with _inference(model), warnings.catch_warnings():
        # FactorizedReduce compares shapes (odd-size padding): fixed for the example's size.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(model, example)
    traced.save(str(path))
    return traced


def _rrelu_in_eval(x, lower=1 / 8, upper=1 / 3, training=False, generator=None):
    """``aten.rrelu`` as traced in eval: leaky ReLU with the mean slope ``(lower + upper) / 2``
    (Xu et al. 2015, torch's RReLU in eval). ONNX has no RReLU; in training it draws random
    slopes, which an inference graph never does."""
    if training:
        raise FactorspaceError("RReLU in training mode cannot be exported (export in eval mode)")
    return F.leaky_relu(x, (lower + upper) / 2)


# aten operator -> its eval-mode form in operators ONNX has (applied to the traced graph only)
EVAL_DECOMPOSITIONS = {torch.ops.aten.rrelu.default: _rrelu_in_eval}


@contextlib.contextmanager
def _inference(model: nn.Module) -> Iterator[None]:
    """``model`` in eval mode without gradients, its training mode restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _dynamic_batch() -> tuple[dict[int, object]]:
    return ({0: torch.export.Dim("batch")},)


def _batch_of_two(example: torch.Tensor) -> torch.Tensor:
    """``example`` with at least two images: torch.export fixes a dimension traced at size 1."""
    return example if example.shape[0] > 1 else example.expand(2, *example.shape[1:])
