"""Which device a run uses, and moving batches onto it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from factorspace.errors import FactorspaceError
from factorspace.schema import Recipe

Batch = tuple[torch.Tensor, torch.Tensor]

# oneDNN's channels_last convolution backward (torch 2.14.1) corrupts the heap ("double free or
# corruption", an abort) on the project's AVX-512 CPU with two threads when the supernet has
# fewer than 8 channels: measured at supernet.channels 4 and 6, not at 8, 10 or 12 (2026-12-01).
# Such supernets are test-sized, where the layout's speed does not matter.
CPU_CHANNELS_LAST_MIN = 8


def supernet_memory_format(recipe: Recipe, device: torch.device) -> torch.memory_format:
    """The layout of ``recipe``'s supernet: ``search.channels_last``'s, except contiguous on a CPU
    for fewer than :data:`CPU_CHANNELS_LAST_MIN` channels (a oneDNN fault, above)."""
    small = device.type == "cpu" and recipe.supernet.channels < CPU_CHANNELS_LAST_MIN
    if not recipe.search.channels_last or small:
        return torch.contiguous_format
    return torch.channels_last


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` (CUDA when available, else the CPU), ``cpu``, ``cuda`` or ``cuda:N`` as a device.

    Raises:
        FactorspaceError: an unknown name, or CUDA asked for where there is none.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError:
        raise FactorspaceError(f"--device {device}: expected auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):  # mps, xla, meta: not supported by the kernels here
        raise FactorspaceError(f"--device {device}: expected auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FactorspaceError("--device cuda: no CUDA device is available here")
    return device


def to_device(batch: Batch, device: torch.device, memory_format=torch.contiguous_format) -> Batch:
    """``(images, labels)`` on ``device``, the images in ``memory_format``."""
    x, y = batch
    x = x.to(device, non_blocking=True).contiguous(memory_format=memory_format)
    return x, y.to(device, non_blocking=True)


def next_batch(
    it: Iterator, loader: Iterable, device: torch.device, memory_format=torch.contiguous_format
) -> tuple[Batch, Iterator]:
    """The next batch of ``it`` on ``device``, starting ``loader`` over when it runs out (DARTS
    cycles the validation half alongside the training half); returns it and the iterator."""
    try:
        batch = next(it)
    except StopIteration:
        it = iter(loader)
        batch = next(it)
    return to_device(batch, device, memory_format), it
