"""Device names, and batches moved onto a device."""

from __future__ import annotations

import pytest
import torch

from factorspace.errors import FactorspaceError
from factorspace.run.device import next_batch, resolve_device, to_device

CPU = torch.device("cpu")


def test_resolve_device_reads_the_names():
    assert resolve_device("cpu") == CPU
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_a_bad_device_name_says_what_is_accepted():
    with pytest.raises(FactorspaceError, match="--device gpu0: expected auto, cpu, cuda or cuda:N"):
        resolve_device("gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is here")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(FactorspaceError, match="no CUDA device is available here"):
        resolve_device("cuda")


def test_to_device_keeps_the_values_in_the_memory_format():
    x, y = torch.randn(2, 3, 4, 4), torch.tensor([1, 0])
    x2, y2 = to_device((x, y), CPU, torch.channels_last)
    assert torch.equal(x2, x) and torch.equal(y2, y)
    assert x2.is_contiguous(memory_format=torch.channels_last)


def test_next_batch_starts_the_loader_over_when_it_runs_out():
    loader = [(torch.full((1, 1), float(i)), torch.tensor([i])) for i in range(2)]
    it, seen = iter(loader), []
    for _ in range(5):
        (x, y), it = next_batch(it, loader, CPU)
        seen.append(int(y))
    assert seen == [0, 1, 0, 1, 0]
