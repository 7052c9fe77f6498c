"""On CUDA: a whole search iteration (weights, then each factor), a tiny search run, and two
processes on NCCL. Marked ``gpu``: skipped where CUDA is missing (tests/conftest.py); the NCCL
test also needs two GPUs. ``scripts/gpu_check.sh`` runs these."""

from __future__ import annotations

import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.search import optim
from factorspace.search.step import plain_iteration
from tests.conftest import ROOT

pytestmark = pytest.mark.gpu
TINY = ROOT / "tests/search/tiny.yaml"


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("order", ["first", "second"])
def test_search_iteration_on_cuda(precision, order):
    recipe = fs.load_recipe(TINY, [f"search.precision={precision}", f"search.order={order}"])
    device = torch.device("cuda")
    net = compile_supernet(recipe.space, recipe.supernet, device, recipe.search)
    net = net.to(memory_format=torch.channels_last)
    w_opt, _ = optim.weight_optimizer(net, recipe.search)
    a_opts = optim.arch_optimizers(net, recipe.search)
    before = {g: [p.detach().clone() for p in ps] for g, ps in net.arch_parameters().items()}
    x = torch.randn(8, 3, 16, 16, device=device).contiguous(memory_format=torch.channels_last)
    batch = (x, torch.randint(0, 10, (8,), device=device))
    loss, _ = plain_iteration(net, w_opt, a_opts, batch, batch, recipe.search, device)
    assert torch.isfinite(loss)
    for group, params in net.arch_parameters().items():  # every factor took its step
        assert any(not torch.equal(p, b) for p, b in zip(params, before[group], strict=True))


def test_tiny_search_runs_on_cuda(tmp_path):
    recipe = fs.load_recipe(TINY, ["search.epochs=1", "search.precision=bf16"])
    result = fs.search(recipe, out=tmp_path / "run", device="cuda")
    record = json.loads((result.run_dir / "run.json").read_text())
    assert result.status == "complete" and record["env"]["device"].startswith("cuda")


def _nccl_worker(rank: int, port: int, out: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2")
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from factorspace.run import distributed

    recipe = fs.load_recipe(TINY, ["search.epochs=1"])
    with distributed.launch("cuda") as ctx:
        assert torch.distributed.get_backend() == "nccl"
        result = fs.search(recipe, out=out, device=ctx.device, distributed=ctx)
        arch = torch.cat([p.detach().flatten() for p in result_arch(result)]).cpu()
    torch.save(arch, f"{out}.rank{rank}.pt")


def result_arch(result):
    return [w for ws in result.arch_weights.values() for w in ws.values()]


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_two_processes_on_nccl_hold_one_architecture(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = str(tmp_path / "run")
    mp.spawn(_nccl_worker, args=(port, out), nprocs=2, join=True)
    a, b = (torch.load(f"{out}.rank{r}.pt") for r in range(2))
    torch.testing.assert_close(a, b)
