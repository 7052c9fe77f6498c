"""The compiled kernels of the fused mixed activation, for the tests that ask for them."""

from __future__ import annotations

import pytest

from factorspace.ops import fused_kernel


@pytest.fixture
def compiled_kernels(monkeypatch):
    """The compiled kernels on (tests/conftest.py turns them off). Each set of activations and
    dtype compiles once per test session: the kernels are kept between tests; a test's failures
    (``_UNAVAILABLE``) are not."""
    monkeypatch.delenv(fused_kernel.ENV, raising=False)
    failed = dict(fused_kernel._UNAVAILABLE)
    fused_kernel._UNAVAILABLE.clear()
    yield fused_kernel
    fused_kernel._UNAVAILABLE.clear()
    fused_kernel._UNAVAILABLE.update(failed)
