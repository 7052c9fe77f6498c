"""scripts/edge_batching_probe.py times the supernet's own arithmetic: its plain-call and batched
paths equal factorspace's sep_conv_3x3 search module, forward and backward."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import torch

from factorspace.registry import OPERATORS
from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "edge_batching_probe.py"


@pytest.fixture(scope="module")
def probe():
    spec = importlib.util.spec_from_file_location("edge_batching_probe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plain_and_batched_paths_equal_the_search_module(probe):
    torch.manual_seed(0)
    modules = [OPERATORS.get("sep_conv_3x3").build(3, 1, False).double() for _ in range(3)]
    xs = [torch.randn(2, 3, 6, 6, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    weights = [probe.per_edge_layers(m)[0] for m in modules]
    want = [m(x) for m, x in zip(modules, xs, strict=True)]
    plain = [probe.sep_conv_plain(x, w, 3) for x, w in zip(xs, weights, strict=True)]
    batched = probe.sep_conv_batched(xs, weights, 3)
    for w, p, b in zip(want, plain, batched, strict=True):
        torch.testing.assert_close(p, w)
        torch.testing.assert_close(b, w)
    loss = lambda outs: sum((o * o).sum() for o in outs)  # noqa: E731
    params = [p for ws in weights for p in ws]
    g_want = torch.autograd.grad(loss(want), [*xs, *params])
    g_batched = torch.autograd.grad(loss(batched), [*xs, *params])
    for a, b in zip(g_want, g_batched, strict=True):
        torch.testing.assert_close(b, a)


def test_the_script_prints_the_three_ways_and_the_ratio():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--edges", "2", "--batch", "2", "--channels", "2",
         "--size", "4", "--repeats", "1"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    lines = out.splitlines()
    assert lines[0].startswith("2 sep_conv_3x3 edges, batch 2, 2 channels, 4 px")
    assert [line.split()[0] for line in lines[1:3]] == ["modules", "per"]
    assert lines[3].split()[0] == "batched"
    assert lines[4].startswith("  batched / per edge: ")
