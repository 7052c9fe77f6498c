"""Several processes, one run: torch.distributed under torchrun, passed around as a context.

``torchrun --nproc_per_node=N -m factorspace search RECIPE`` starts N processes; in each, the CLI
enters :func:`launch`, which joins the process group (NCCL on CUDA, gloo on CPU) and yields a
:class:`DistributedContext`. The search and the re-training take that context as an argument; a
run in one process gets :data:`SINGLE`, whose methods all leave things as they are, so the
one-process path does exactly what it did before.

The decisions, and why:

* Weights: :meth:`~DistributedContext.wrap` puts the network in DistributedDataParallel, which
  averages the weights' gradients across processes during the weight step's backward pass.
* Architecture: the supernet's ``arch`` parameters are kept out of DDP (their names go to
  ``_set_params_and_buffers_to_ignore_for_model``, so DDP neither broadcasts nor reduces them).
  The factors are updated one after the other, each on a fresh validation forward (Algorithm 1),
  and those forwards run on the bare supernet, outside DDP: DDP's reducer expects one forward and
  one backward over every weight per iteration, while these passes want only the stepping
  factor's gradient (``torch.autograd.grad``, which never fires DDP's hooks, so no ``no_sync`` is
  needed). :meth:`~DistributedContext.averaged` then all-reduces (averages) that factor's gradient
  before its Adam step: every process takes the same step and holds the same architecture.
* Data: the recipe's batch is the global batch. :class:`ShardedSampler` gives each process
  ``batch / world`` images of every batch, as DistributedSampler would (pad the epoch with its
  first images to a multiple of the world size, then take every world-th), over factorspace's
  seeded epoch order: each image keeps its augmentation, and the processes' batch i together are
  the one-process batch i.
* BatchNorm over the global batch is an option (``sync_batchnorm``): torch's SyncBatchNorm on
  CUDA, :class:`~factorspace.run.syncbn.CpuSyncBatchNorm` on CPU, where torch's does not run.
* Files: only rank 0 writes. :meth:`~DistributedContext.run_on_main` runs a function on rank 0
  and hands its result, or its error, to every process: the run directory's name, the
  checkpoint on resume, the metrics so far.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler

from factorspace.errors import FactorspaceError
from factorspace.run.syncbn import CpuSyncBatchNorm

T = TypeVar("T")
Data = TypeVar("Data")


@dataclass(frozen=True)
class DistributedContext:
    """Which process this is among how many, and the collectives a run needs.

    ``DistributedContext()`` (:data:`SINGLE`) is one process: nothing is wrapped, reduced or
    broadcast. A context with ``world_size > 1`` expects the process group to be initialised
    (:func:`launch` does it) and ``device`` to be this process's device.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device | None = None  # this process's device; None: the caller's choice

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints and writes."""
        return self.rank == 0

    # ---- the model ---------------------------------------------------------------------------
    def sync_batchnorm(self, module: nn.Module) -> nn.Module:
        """``module`` with every BatchNorm2d computing its statistics over the global batch."""
        if not self.enabled:
            return module
        if self.device is not None and self.device.type == "cuda":
            return nn.SyncBatchNorm.convert_sync_batchnorm(module)
        return CpuSyncBatchNorm.convert(module)

    def wrap(self, module: nn.Module, *, ignore: Iterable[nn.Parameter] = ()) -> nn.Module:
        """``module`` in DistributedDataParallel, leaving the parameters ``ignore`` to the caller
        (neither broadcast nor reduced); ``module`` itself in one process."""
        if not self.enabled:
            return module
        ignored = {id(p) for p in ignore}
        names = [name for name, p in module.named_parameters() if id(p) in ignored]
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(module, names)
        cuda = self.device is not None and self.device.type == "cuda"
        return _DDP(module, device_ids=[self.device.index] if cuda else None)

    def averaged(self, grad_fn: Callable[..., T]) -> Callable[..., T]:
        """An architecture ``grad_fn(net, val, params)`` whose gradients of ``params`` are then
        averaged across processes (see :func:`factorspace.search.optim.arch_steps`)."""
        if not self.enabled:
            return grad_fn

        def fn(net, val, params):
            result = grad_fn(net, val, params)
            self.average_([p.grad for p in params if p.grad is not None])
            return result

        return fn

    def average_buffers(self, module: nn.Module) -> None:
        """Average the floating-point buffers (BatchNorm running statistics) across processes."""
        self.average_([b for b in module.buffers() if b.is_floating_point()])

    # ---- data --------------------------------------------------------------------------------
    def shard(self, data: Data, *, batch_field: str) -> Data:
        """``data`` (SearchData or EvalData) with each loader reading this process's share of
        every global batch.

        Raises:
            FactorspaceError: ``batch_field`` is not a multiple of the world size.
        """
        if not self.enabled:
            return data
        loaders = {
            f.name: getattr(data, f.name)
            for f in fields(data)
            if isinstance(getattr(data, f.name), DataLoader)
        }
        batch = next(iter(loaders.values())).batch_size
        check_global_batch(batch, batch_field, self.world_size)
        return replace(data, **{name: self._shard(loader) for name, loader in loaders.items()})

    def share(self, batch: int) -> int:
        """This process's part of a global batch of ``batch`` images (rounded up)."""
        return -(-batch // self.world_size)

    def _shard(self, loader: DataLoader) -> DataLoader:
        sampler = ShardedSampler(loader.sampler, self.rank, self.world_size)
        return DataLoader(
            loader.dataset,
            batch_size=loader.batch_size // self.world_size,
            sampler=sampler,
            drop_last=loader.drop_last,
            collate_fn=loader.collate_fn,
            num_workers=loader.num_workers,
            persistent_workers=loader.persistent_workers,
            pin_memory=loader.pin_memory,
            generator=sampler.generator,
        )

    def seed_epoch(self, seed: int, epoch: int) -> None:
        """Give each process its own random stream for ``epoch`` (drop path's masks), the same
        on an uninterrupted and a resumed run; nothing in one process."""
        if self.enabled:
            torch.manual_seed(random.Random(f"{seed}/{epoch}/{self.rank}").getrandbits(63))

    # ---- collectives -------------------------------------------------------------------------
    def run_on_main(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on rank 0; its result on every process. An exception there is
        raised on every process (rank 0's own; the others a FactorspaceError with its message)
        rather than leaving them waiting."""
        if not self.enabled:
            return fn(*args, **kwargs)
        result = error = None
        if self.is_main:
            try:
                result = fn(*args, **kwargs)
            except Exception as e:  # every process must leave the broadcast below
                error = e
        failure = None if error is None else (isinstance(error, FactorspaceError), str(error))
        box = [(result, failure)]
        dist.broadcast_object_list(box, src=0, device=self._collective_device)
        result, failure = box[0]
        if error is not None:
            raise error
        if failure is not None:
            ours, message = failure
            raise (FactorspaceError if ours else RuntimeError)(message)
        return result

    def broadcast_(self, tensors: Iterable[torch.Tensor]) -> None:
        """Overwrite ``tensors`` with rank 0's values."""
        if self.enabled:
            with torch.no_grad():
                for t in tensors:
                    dist.broadcast(t.data, src=0)

    def average_(self, tensors: Sequence[torch.Tensor]) -> None:
        """Replace each of ``tensors`` (on one device) by its mean over the processes, in one
        all-reduce."""
        if not self.enabled or not tensors:
            return
        with torch.no_grad():
            flat = torch.cat([t.reshape(-1) for t in tensors])
            dist.all_reduce(flat)
            flat /= self.world_size
            for t, mean in zip(tensors, flat.split([t.numel() for t in tensors]), strict=True):
                t.copy_(mean.view_as(t))

    def reduce_totals(self, totals: dict[str, float], *, mean: Sequence[str] = ()) -> dict:
        """``totals`` summed over the processes (the keys in ``mean`` averaged); ints stay ints."""
        if not self.enabled:
            return totals
        values = torch.tensor(
            [float(v) for v in totals.values()], dtype=torch.float64, device=self._collective_device
        )
        dist.all_reduce(values)
        out = {}
        for (key, own), total in zip(totals.items(), values.tolist(), strict=True):
            value = total / self.world_size if key in mean else total
            out[key] = round(value) if isinstance(own, int) else value
        return out

    def weighted_mean(self, result: dict[str, float], *, weight: str) -> dict:
        """Per-process means in ``result`` (counted in ``result[weight]``) combined into the
        mean over every process's items; ``weight`` becomes the total count."""
        if not self.enabled:
            return result
        n = result[weight]
        sums = self.reduce_totals({k: v if k == weight else v * n for k, v in result.items()})
        total = max(sums[weight], 1)
        return {k: v if k == weight else v / total for k, v in sums.items()}

    @property
    def _collective_device(self) -> torch.device:
        return self.device if self.device is not None else torch.device("cpu")


SINGLE = DistributedContext()


def launched() -> bool:
    """Whether torchrun started this process as one of several (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@contextlib.contextmanager
def launch(device: str | torch.device = "auto") -> Iterator[DistributedContext]:
    """Join the torchrun job this process belongs to, for the duration; :data:`SINGLE` when
    started without torchrun (or with one process).

    torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. ``device``: ``auto``
    is ``cuda:LOCAL_RANK`` when CUDA is available, else the CPU; ``cuda`` is ``cuda:LOCAL_RANK``.

    Raises:
        FactorspaceError: ``cuda:N`` under torchrun, or CUDA asked for and absent.
    """
    if not launched():
        yield SINGLE
        return
    world_size, rank = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    process_device = _process_device(device, local_rank)
    backend = "nccl" if process_device.type == "cuda" else "gloo"
    if process_device.type == "cuda":
        torch.cuda.set_device(process_device)
    dist.init_process_group(
        backend, device_id=process_device if process_device.type == "cuda" else None
    )
    try:
        yield DistributedContext(rank, world_size, local_rank, process_device)
    finally:
        dist.destroy_process_group()


def _process_device(device: str | torch.device, local_rank: int) -> torch.device:
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    requested = torch.device(device)
    if requested.type != "cuda":
        return requested
    if requested.index is not None:
        raise FactorspaceError(
            f"--device {device}: under torchrun each process takes cuda:LOCAL_RANK; "
            "pass --device cuda (or auto) and choose GPUs with CUDA_VISIBLE_DEVICES"
        )
    if not torch.cuda.is_available():
        raise FactorspaceError("--device cuda: no CUDA device is available here")
    return torch.device("cuda", local_rank)


def check_global_batch(batch_size: int, field: str, world_size: int) -> None:
    """Raise unless ``world_size`` processes can share batches of ``batch_size`` evenly.

    The error carries ``field``, so the CLI (``loader.errors_located``) reports it as
    ``FILE:LINE: field: ...``.

    Raises:
        FactorspaceError: ``batch_size`` is not a multiple of ``world_size``.
    """
    if batch_size % world_size:
        fit = math.ceil(batch_size / world_size) * world_size
        raise FactorspaceError(
            f"{batch_size} is not a multiple of the {world_size} processes: the recipe's batch "
            f"is the global batch, split evenly across them; use e.g. {fit}",
            field=field,
        )


class ShardedSampler(Sampler):
    """This process's share of each epoch of ``inner``, as DistributedSampler takes it: the epoch
    padded with its first items to a multiple of ``world_size``, then every ``world_size``-th item
    from ``rank`` on. With batches of ``B / world_size``, batch i of every process together is
    batch i of ``B`` in one process (padding aside).

    ``set_epoch(epoch, skip=n)`` as :class:`factorspace.data.EpochSampler`'s, ``n`` counting this
    process's items; each pass advances the epoch by itself.
    """

    def __init__(self, inner: Sampler, rank: int, world_size: int) -> None:
        self.inner, self.rank, self.world_size, self.skip = inner, rank, world_size, 0
        self.generator = inner.generator  # seeds the DataLoader's workers, per epoch

    def set_epoch(self, epoch: int, *, skip: int = 0) -> None:
        self.inner.set_epoch(epoch)
        self.skip = skip

    def __len__(self) -> int:
        return max(math.ceil(len(self.inner) / self.world_size) - self.skip, 0)

    def __iter__(self):
        items = list(self.inner)  # advances the inner sampler's epoch
        items += items[: -len(items) % self.world_size]
        mine, self.skip = items[self.rank :: self.world_size][self.skip :], 0
        return iter(mine)


class _DDP(DistributedDataParallel):
    """DistributedDataParallel that still answers a supernet's ``weight_parameters()``."""

    def weight_parameters(self) -> list[nn.Parameter]:
        return self.module.weight_parameters()
