"""Search and re-training on torch.distributed: two processes on the CPU (gloo), as under torchrun.

The two-process runs happen once, in :func:`_worker` (spawned twice), and leave what each process
saw in ``rank{N}.pt``; the tests compare those with each other and with one-process runs.

Both sides run in float64. This search amplifies rounding: in float32 one process with one thread
and with two threads already ends 1e-4 apart in the architecture weights (Adam divides each
gradient by its own size, so the sign of a near-zero component decides a full step). In float64
that noise is gone, and what is left is the algorithm: with SyncBatchNorm, two processes sharing
each batch must end where one process with the whole batch ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

import factorspace as fs
from factorspace.data import EpochSampler, search_loaders
from factorspace.errors import FactorspaceError, Interrupted
from factorspace.loader import errors_located
from factorspace.retrain import load_train_recipe, train
from factorspace.run import distributed
from factorspace.run.distributed import DistributedContext, ShardedSampler
from factorspace.search import search
from tests.conftest import ROOT

RECIPE = ROOT / "recipes" / "adarts_cifar.yaml"
TRAIN_RECIPE = ROOT / "recipes" / "train_cifar.yaml"
# 60 + 60 images in global batches of 30 (2 steps an epoch); no RReLU, whose random slopes are
# drawn per image and so differ between one process and two.
SEARCH = [
    "supernet.channels=4",
    "supernet.cells=3",
    "space.cell.nodes=2",
    "space.factors.0.choices=[none,max_pool_3x3,skip_connect,sep_conv_3x3,dil_conv_3x3]",
    "space.factors.1.choices=[relu,elu]",
    "search.epochs=2",
    "search.batch_size=30",
    "search.sync_batchnorm=true",
    "search.tensorboard=false",
    "data.dataset=bundled",
    "data.subset_per_class=0.008",
    "data.workers=0",
    "data.image_size=8",
]
TRAIN = [
    "network.channels=4",
    "network.cells=3",
    "network.auxiliary=false",
    "network.drop_path=0",
    "train.epochs=2",
    "train.batch_size=20",
    "train.sync_batchnorm=true",
    "data.dataset=imagefolder",
    "data.workers=0",
    "data.image_size=16",
]
WORLD = 2


@contextlib.contextmanager
def float64():
    """Networks built in float64 and fed float64 images, for the duration."""
    from factorspace.retrain import train as train_module
    from factorspace.retrain import trained
    from factorspace.run import device
    from factorspace.search import loop

    dtype, to_device = torch.get_default_dtype(), device.to_device
    users = (device, loop, train_module, trained)  # each module that calls it

    def cast(batch, device, memory_format=torch.contiguous_format):
        x, y = to_device(batch, device, memory_format)
        return x.double(), y

    torch.set_default_dtype(torch.float64)
    for module in users:
        module.to_device = cast
    try:
        yield
    finally:
        torch.set_default_dtype(dtype)
        for module in users:
            module.to_device = to_device


@contextlib.contextmanager
def arch_after_every_epoch():
    """Yields a list that gets the supernet's architecture parameters after each epoch."""
    from factorspace.search.loop import Search

    seen, end_epoch = [], Search.end_epoch

    def recording(self):
        end_epoch(self)
        seen.append({f"{t}.{f}": p.detach().clone() for t in self.net.arch for f, p in
                     self.net.arch[t].items()})  # fmt: skip

    Search.end_epoch = recording
    try:
        yield seen
    finally:
        Search.end_epoch = end_epoch


@contextlib.contextmanager
def recording_writes():
    """Yields a list that gets the path of every file this process renames into place (each
    file of a run directory is written to a temporary name first) and directory it makes."""
    paths, replace, mkdir = [], os.replace, os.mkdir

    def replaced(src, dst, *args, **kwargs):
        paths.append(os.path.abspath(dst))
        return replace(src, dst, *args, **kwargs)

    def made(path, *args, **kwargs):
        paths.append(os.path.abspath(path))
        return mkdir(path, *args, **kwargs)

    os.replace, os.mkdir = replaced, made
    try:
        yield paths
    finally:
        os.replace, os.mkdir = replace, mkdir


@contextlib.contextmanager
def interrupted_after_epoch(epoch: int):
    from factorspace.search.loop import Search

    end_epoch = Search.end_epoch

    def stop(self):
        end_epoch(self)
        if self.epoch == epoch:
            raise KeyboardInterrupt

    Search.end_epoch = stop
    try:
        yield
    finally:
        Search.end_epoch = end_epoch


def _worker(rank: int, port: int, tmp: str) -> None:
    """One of the two processes: what torchrun would set, then every distributed scenario."""
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    tmp_path, record = Path(tmp), {}
    recipe = fs.load_recipe(RECIPE, SEARCH)
    with distributed.launch("cpu") as ctx, float64():
        os.chdir(tmp_path / "cwd")  # search without --out: rank 0 names runs/NAME-TIME
        with arch_after_every_epoch() as arch, recording_writes() as writes:
            search(recipe, device=ctx.device, distributed=ctx)
        record.update(arch=arch, writes=writes)

        resumed = tmp_path / "resumed"
        with interrupted_after_epoch(1), contextlib.suppress(Interrupted):
            search(recipe, out=resumed, device=ctx.device, distributed=ctx)
        result = search(recipe, out=resumed, device=ctx.device, resume=True, distributed=ctx)
        record["resumed"] = {k: v.clone() for k, v in result_arch(result).items()}

        train_recipe = load_train_recipe(TRAIN_RECIPE, [*TRAIN, f"data.root={tmp_path / 'images'}"])
        trained = train(
            "darts_v2", train_recipe, out=tmp_path / "train", device=ctx.device, distributed=ctx
        )
        record["train"] = {k: v.clone() for k, v in trained.model.state_dict().items()}
    torch.save(record, tmp_path / f"rank{rank}.pt")


def result_arch(result) -> dict[str, torch.Tensor]:
    """The architecture parameters of a finished search (from its last arch record)."""
    last = sorted((result.run_dir / "arch").glob("epoch_*.json"))[-1]
    return arch_file(last)


def arch_file(path: Path) -> dict[str, torch.Tensor]:
    alphas = json.loads(path.read_text())["alphas"]
    return {f"{t}.{f}": torch.tensor(v, dtype=torch.float64) for t in alphas for f, v in
            alphas[t].items()}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    from tests.retrain.test_train import mini_imagefolder

    return mini_imagefolder(tmp_path_factory.mktemp("images"), 4, 2)  # 40 train, 20 test


@pytest.fixture(scope="module")
def two(tmp_path_factory, images):
    """The two processes' runs: their directory and each rank's record."""
    tmp = tmp_path_factory.mktemp("two")
    (tmp / "cwd").mkdir()
    shutil.copytree(images, tmp / "images")
    mp.spawn(_worker, args=(free_port(), str(tmp)), nprocs=WORLD, join=True)
    return tmp, [torch.load(tmp / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


@pytest.fixture(scope="module")
def one(tmp_path_factory, images):
    """One process, the same global batches: a search and a re-training."""
    tmp = tmp_path_factory.mktemp("one")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with float64():
            searched = search(fs.load_recipe(RECIPE, SEARCH), out=tmp / "search", device="cpu")
            recipe = load_train_recipe(TRAIN_RECIPE, [*TRAIN, f"data.root={images}"])
            trained = train("darts_v2", recipe, out=tmp / "train", device="cpu")
    finally:
        torch.set_num_threads(threads)
    return searched, trained


def assert_all_close(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k].double(), b[k].double(), atol=atol, rtol=0, msg=k)


@pytest.mark.slow
def test_processes_hold_the_same_architecture_after_every_epoch(two):
    _, (rank0, rank1) = two
    assert len(rank0["arch"]) == len(rank1["arch"]) == 2
    for epoch0, epoch1 in zip(rank0["arch"], rank1["arch"], strict=True):
        for k in epoch0:
            assert torch.equal(epoch0[k], epoch1[k]), k


@pytest.mark.slow
def test_two_processes_with_sync_batchnorm_end_where_one_process_ends(two, one):
    tmp, (rank0, _) = two
    searched, _ = one
    for e, arch in enumerate(rank0["arch"], start=1):
        alone = arch_file(searched.run_dir / "arch" / f"epoch_{e:03d}.json")
        assert_all_close(arch, alone, atol=1e-6)  # measured: about 1e-16 (float64)
    first, last = rank0["arch"]
    assert all((last[k] - first[k]).abs().max() > 1e-5 for k in first)  # every factor moved


@pytest.mark.slow
def test_rank_0_alone_writes_one_run_directory(two):
    tmp, (rank0, rank1) = two
    runs = list((tmp / "cwd" / "runs").iterdir())
    assert len(runs) == 1
    run = runs[0]
    written = [[w for w in rank["writes"] if w.startswith(str(tmp))] for rank in (rank0, rank1)]
    assert written[1] == []  # (torch itself may make a cache directory elsewhere)
    assert str(run / "metrics.jsonl") in written[0] and str(run) in written[0]
    assert sorted(p.name for p in (run / "arch").iterdir()) == ["epoch_001.json", "epoch_002.json"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    assert_all_close(arch_file(run / "arch" / "epoch_002.json"), rank1["arch"][-1], atol=0)


@pytest.mark.slow
def test_a_distributed_resume_ends_as_the_uninterrupted_run(two):
    tmp, ranks = two
    for record in ranks:
        assert_all_close(record["resumed"], record["arch"][-1], atol=0)
    run = json.loads((tmp / "resumed" / "run.json").read_text())
    assert run["status"] == "complete" and run["epochs_done"] == 2
    rows = (tmp / "resumed" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1, 2]


@pytest.mark.slow
def test_two_process_training_holds_one_network_and_matches_one_process(two, one):
    tmp, (rank0, rank1) = two
    _, trained = one
    for k in rank0["train"]:
        assert torch.equal(rank0["train"][k], rank1["train"][k]), k
    assert_all_close(rank0["train"], trained.model.state_dict(), atol=1e-5)
    rows = (tmp / "train" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1, 2]
    assert json.loads(rows[-1])["test_acc"] == pytest.approx(trained.test_acc)


@pytest.mark.parametrize("size", [12, 13])
def test_the_processes_batches_together_are_one_process_batches(size):
    alone = list(EpochSampler(size, 0, "train"))
    shards = [ShardedSampler(EpochSampler(size, 0, "train"), r, WORLD) for r in range(WORLD)]
    mine = [list(s) for s in shards]
    assert [len(m) for m in mine] == [len(s) for s in shards] == [-(-size // WORLD)] * WORLD
    for i in range(0, size, 4):  # global batches of 4: two per process
        together = {item for m in mine for item in m[i // WORLD : i // WORLD + 2]}
        padded = alone + alone[: -size % WORLD]
        assert together == set(padded[i : i + 4])
    shards[1].set_epoch(0, skip=2)  # resuming mid-epoch skips this process's first items
    assert list(shards[1]) == mine[1][2:]
    assert list(shards[1]) != mine[1]  # the next pass is the next epoch


def test_the_world_size_must_divide_the_global_batch():
    recipe = fs.load_recipe(RECIPE, SEARCH)
    data = search_loaders(recipe.data, 15, seed=0)
    with pytest.raises(FactorspaceError) as error, errors_located(RECIPE):
        DistributedContext(rank=0, world_size=2).shard(data, batch_field="search.batch_size")
    line = next(
        i for i, text in enumerate(RECIPE.read_text().splitlines(), 1) if "batch_size:" in text
    )
    assert str(error.value) == (
        f"{RECIPE}:{line}: search.batch_size: 15 is not a multiple of the 2 processes: the "
        "recipe's batch is the global batch, split evenly across them; use e.g. 16"
    )


@pytest.mark.slow
def test_torchrun_runs_the_cli_and_rank_0_alone_prints(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               f"--master_port={free_port()}", "-m", "factorspace", "search", str(RECIPE),
               "--device", "cpu", "--out", str(out)]  # fmt: skip
    for item in [*SEARCH, "search.epochs=1", "search.sync_batchnorm=false"]:
        command += ["--set", item]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("run directory:") == 2  # rank 0's header and last line
    assert done.stdout.count("resume with: ") == 1  # rank 0's header
    assert sorted(p.name for p in (out / "arch").iterdir()) == ["epoch_001.json"]
