"""The supernet computes the same loss and gradients with factorspace's CPU kernels as with
torch's own layers (channels_last, 16x16 inputs: every fast path is taken)."""

import pytest
import torch
import torch.nn.functional as F

from factorspace.compile import compile_supernet
from factorspace.ops import kernels
from factorspace.schema import SupernetConfig
from tests.conftest import paper_space


@pytest.fixture(autouse=True)
def fast_paths_at_any_size(monkeypatch):
    """The tests' tensors are tiny; take the fast paths anyway (they are size-gated for speed)."""
    monkeypatch.setattr(kernels, "BATCH_NORM_MIN_ELEMENTS", 0)
    monkeypatch.setattr(kernels, "DEPTHWISE_MIN_ELEMENTS", 0)


def _loss_and_grads(net, x, y):
    net.zero_grad(set_to_none=True)
    torch.manual_seed(1)  # rrelu draws its slopes
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in net.named_parameters()}


def test_fast_kernels_change_no_gradient(monkeypatch):
    torch.manual_seed(0)
    config = SupernetConfig(channels=8, cells=3, classes=10)
    net = compile_supernet(paper_space(), config, "cpu").to(memory_format=torch.channels_last)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(4, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    y = torch.tensor([1, 2, 3, 4])
    fast = _loss_and_grads(net, x, y)
    fast_state = {k: v.clone() for k, v in net.state_dict().items()}

    net.load_state_dict(state)
    monkeypatch.setattr(kernels, "_is_cpu_grad", lambda t: False)  # torch's layers throughout
    reference = _loss_and_grads(net, x, y)

    torch.testing.assert_close(fast[0], reference[0])
    assert fast[1].keys() == reference[1].keys()
    for name, grad in reference[1].items():
        torch.testing.assert_close(fast[1][name], grad, rtol=1e-3, atol=1e-5, msg=name)
    for name, value in net.state_dict().items():  # running statistics, batch counters
        torch.testing.assert_close(fast_state[name], value, msg=name)
