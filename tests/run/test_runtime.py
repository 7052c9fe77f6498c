import sys

import pytest
import torch

from factorspace.run.runtime import keep_freed_memory

CPU = torch.device("cpu")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_takes_effect_and_can_be_repeated():
    # True means glibc accepted both settings (mallopt returns 1); the effect on page faults is
    # measured by `factorspace bench` (docs/performance.md), not timed here
    assert keep_freed_memory(CPU) is True
    assert keep_freed_memory(CPU) is True


def test_keep_freed_memory_is_a_no_op_off_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert keep_freed_memory(CPU) is False


def test_keep_freed_memory_is_a_no_op_for_a_gpu():
    assert keep_freed_memory(torch.device("cuda")) is False
