"""On a CUDA device: the fused mixed activation's compiled kernels (Triton) compute what its eager
path and autograd compute, and a run's header says they ran. Marked ``gpu``."""

from __future__ import annotations

import pytest
import torch

import factorspace as fs
from factorspace.compile.edge import mix
from factorspace.ops.fused import fused_mix
from tests.conftest import ROOT
from tests.ops.test_fused import NAMES, _assert_same, _output_and_grads

pytestmark = pytest.mark.gpu
CUDA = torch.device("cuda")


def _modules():
    torch.manual_seed(0)
    modules = [fs.registry.ACTIVATIONS.get(n).build(4).to(CUDA) for n in NAMES]
    with torch.no_grad():
        for p in (p for m in modules for p in m.parameters()):
            p.add_(0.3 * torch.randn_like(p))
    return modules


def test_triton_kernels_equal_eager_fused_and_autograd(compiled_kernels, monkeypatch):
    modules = _modules()
    x = torch.randn(8, 4, 16, 16, device=CUDA).contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    w = torch.randn(len(NAMES), device=CUDA).softmax(0).detach().requires_grad_()
    compiled = _output_and_grads(fused_mix, x, w, modules)
    assert compiled_kernels.unavailable("cuda") is None  # the kernels ran
    with monkeypatch.context() as m:
        m.setenv(compiled_kernels.ENV, "eager")
        eager = _output_and_grads(fused_mix, x, w, modules)
    plain = _output_and_grads(mix, x, w, modules)
    _assert_same(compiled, eager, rtol=1e-4, atol=1e-5)
    _assert_same(compiled, plain, rtol=1e-4, atol=1e-5)
    with torch.no_grad():  # eval: RReLU's mean slope
        for m_ in modules:
            m_.eval()
        torch.testing.assert_close(
            fused_mix(x, w, modules), mix(x, w, modules), rtol=1e-4, atol=1e-5
        )


def test_triton_hashed_rrelu_equals_the_eager_path_and_the_definition(
    compiled_kernels, monkeypatch
):
    """``supernet.rrelu_noise: hashed`` on CUDA: the Triton kernels hash the positions the
    eager path hashes (int32 arithmetic wrapping as on the CPU) and draw the same seed."""
    from tests.ops.test_hashed_noise import HashedRReLU

    modules = _modules()
    x = torch.randn(8, 4, 16, 16, device=CUDA).contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    w = torch.randn(len(NAMES), device=CUDA).softmax(0).detach().requires_grad_()

    def hashed(x, w, modules):
        return fused_mix(x, w, modules, hashed=True)

    compiled = _output_and_grads(hashed, x, w, modules)
    assert compiled_kernels.unavailable("cuda") is None
    with monkeypatch.context() as m:
        m.setenv(compiled_kernels.ENV, "eager")
        eager = _output_and_grads(hashed, x, w, modules)
    reference = [HashedRReLU(m.lower, m.upper) if type(m) is torch.nn.RReLU else m for m in modules]
    plain = _output_and_grads(mix, x, w, reference)
    _assert_same(compiled, eager, rtol=1e-4, atol=1e-5)
    _assert_same(compiled, plain, rtol=1e-4, atol=1e-5)


def test_the_header_line_says_triton(compiled_kernels):
    recipe = fs.load_recipe(ROOT / "recipes" / "quickstart.yaml")
    line = compiled_kernels.prepare(recipe, CUDA).line
    assert line.startswith("mixed activation: fused, compiled kernels (torch.compile, Triton; ")
