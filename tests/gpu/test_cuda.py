"""On a CUDA device: the supernet trains in fp32 and bf16, channels_last, with torch's kernels.

Marked ``gpu``: skipped where CUDA is missing (tests/conftest.py).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from factorspace.compile import compile_supernet
from factorspace.ops import kernels
from factorspace.run.precision import autocast
from tests.conftest import paper_space

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_supernet_step_on_cuda(tiny_supernet, precision, monkeypatch):
    calls = []
    for name in ("_DepthwiseConv", "_ChannelsLastBatchNorm"):  # CPU-only fast paths
        fn = getattr(kernels, name)
        monkeypatch.setattr(fn, "apply", lambda *a, _f=fn.apply: calls.append(1) or _f(*a))
    device = torch.device("cuda")
    net = compile_supernet(paper_space(), tiny_supernet, device).to(
        memory_format=torch.channels_last
    )
    x = torch.randn(4, 3, 16, 16, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (4,), device=device)
    with autocast(device, precision):
        loss = F.cross_entropy(net(x).float(), y)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in net.weight_parameters() if p.requires_grad)
    assert not calls
