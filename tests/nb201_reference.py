"""The benchmark authors' NAS-Bench-201 code (the ``xautodl`` package) for equivalence tests.

xautodl is a test-only dependency, installed with ``pip install --no-deps xautodl`` (its metadata
pins numpy<=1.19.5, which does not install on our Python; its model code needs torch only). The
tests skip without it, except under CI (``CI`` set), where they fail: CI cannot skip them silently.

Weights move between the two models by name: :func:`copy_to_xautodl` maps each of our state's
entries to xautodl's.
"""

from __future__ import annotations

import os
import re

import pytest
import torch

NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
XAUTODL_EDGES = ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]  # its cells' ModuleDict keys


def require_xautodl():
    """Import xautodl's models, or skip (fail when the environment variable CI is set)."""
    try:
        from xautodl.models.cell_infers.tiny_network import TinyNetwork
        from xautodl.models.cell_searchs.genotypes import Structure
        from xautodl.models.cell_searchs.search_model_darts import TinyNetworkDarts
        from xautodl.models.cell_searchs.search_model_gdas import TinyNetworkGDAS
    except ImportError as e:
        if os.environ.get("CI"):
            pytest.fail(f"xautodl is missing under CI ({e}): pip install --no-deps xautodl")
        pytest.skip("xautodl is not installed (pip install --no-deps xautodl)")
    return {
        "TinyNetwork": TinyNetwork,
        "Structure": Structure,
        "TinyNetworkDarts": TinyNetworkDarts,
        "TinyNetworkGDAS": TinyNetworkGDAS,
    }


def xautodl_name(name: str, op_names: list[str]) -> str:
    """xautodl's name of one of our state entries (search supernet or fixed network).

    Search cells: ``cells.I.edges.K.candidates.OP.op.M.X`` -> ``cells.I.edges.J<-S.N.op.M.X``
    (``N`` the operation's index in ``op_names``); fixed cells: ``cells.I.edges.K.op.M.X`` ->
    ``cells.I.layers.K.op.M.X``; residual blocks: ``conv_a.M.X`` -> ``conv_a.op.M.X``; the
    architecture: ``arch.normal.joint`` -> ``arch_parameters``; the rest keeps its name.
    """
    if name == "arch.normal.joint":
        return "arch_parameters"
    m = re.fullmatch(r"cells\.(\d+)\.edges\.(\d+)\.candidates\.(\w+)\.op\.(.+)", name)
    if m:
        cell, edge, op, rest = m.groups()
        key = op if op in op_names else _candidate_op(op)
        return f"cells.{cell}.edges.{XAUTODL_EDGES[int(edge)]}.{op_names.index(key)}.op.{rest}"
    m = re.fullmatch(r"cells\.(\d+)\.edges\.(\d+)\.op\.(.+)", name)
    if m:
        cell, edge, rest = m.groups()
        return f"cells.{cell}.layers.{edge}.op.{rest}"
    m = re.fullmatch(r"cells\.(\d+)\.(conv_a|conv_b)\.(.+)", name)
    if m:
        cell, conv, rest = m.groups()
        return f"cells.{cell}.{conv}.op.{rest}"
    return name


def _candidate_op(key: str) -> str:
    """``nor_conv__3`` (our module key of nor_conv with kernel_size 3) -> ``nor_conv_3x3``."""
    op, _, kernel = key.partition("__")
    return f"nor_conv_{kernel}x{kernel}" if op == "nor_conv" else op


def copy_to_xautodl(ours: torch.nn.Module, theirs: torch.nn.Module, op_names=NB201_OPS) -> None:
    """Load every entry of ``ours``' state into ``theirs``; both must have exactly the same
    entries under the mapping (asserted), so a missing or extra parameter fails the test."""
    state = {xautodl_name(k, op_names): v for k, v in ours.state_dict().items()}
    target = theirs.state_dict()
    assert sorted(state) == sorted(target)
    for k, v in state.items():
        assert v.shape == target[k].shape, k
    theirs.load_state_dict(state)


def gradients(model: torch.nn.Module, names=None) -> dict[str, torch.Tensor]:
    """Parameter name (mapped by ``names``) -> its gradient, zero where none was computed."""
    names = names or (lambda n: n)
    return {
        names(n): (p.grad if p.grad is not None else torch.zeros_like(p))
        for n, p in model.named_parameters()
    }
