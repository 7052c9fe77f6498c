"""Random numbers as a function of a seed and each element's position (counter-based).

RReLU's training slopes under ``supernet.rrelu_noise: hashed``
(:mod:`factorspace.ops.activations`): one seed drawn per call from torch's generator, each
element's number a hash of it and the element's position in memory order
(:func:`factorspace.ops.fused.positions`). The same function computes them in the compiled
kernels (the position an iota of the loop), on the eager fused path (chunk by chunk) and in the
backward pass, which recomputes them instead of keeping them. Plain torch integer ops, so
inductor's C++ and Triton code and eager torch compute identical numbers.
"""

from __future__ import annotations

import torch

_LOW31 = 0x7FFFFFFF


def _shr(h: torch.Tensor, k: int) -> torch.Tensor:
    """``h >> k`` of int32 ``h`` read as unsigned (a logical shift: torch's is arithmetic)."""
    return (h >> k) & ((1 << (32 - k)) - 1)


def _hash32(h: torch.Tensor) -> torch.Tensor:
    """A bijection of 32-bit integers (C. Wellons's "lowbias32"), on int32 read as unsigned:
    products wrap modulo 2**32 as the unsigned ones do, in vectorised C++, Triton and torch."""
    h = h ^ _shr(h, 16)
    h = h * 0x21F0AAAD
    h = h ^ _shr(h, 15)
    h = h * 0x735A2D97
    return h ^ _shr(h, 15)


def hashed_uniform(index: torch.Tensor, seed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Numbers in ``[0, 1)`` with 24 random bits each, a function of ``seed`` (int64, below
    2**62) and ``index`` (int64 positions; they repeat every 2**31 elements): equal wherever
    computed, so a backward pass recomputes what the forward drew. Two rounds of
    :func:`_hash32`, 31 bits of the seed mixed in before each; within a call no two positions
    collide (a bijection). 32-bit arithmetic: half the vector work of 64-bit."""
    lo = (seed & _LOW31).to(torch.int32)
    hi = ((seed >> 31) & _LOW31).to(torch.int32)
    h = _hash32(_hash32((index & _LOW31).to(torch.int32) ^ lo) ^ hi)
    return _shr(h, 8).to(dtype) * (1.0 / 2**24)


def draw_seed(x: torch.Tensor) -> torch.Tensor:
    """A 0-d int64 seed for :func:`hashed_uniform`, drawn from ``x``'s device's generator."""
    return torch.randint(0, 2**62, (), dtype=torch.int64, device=x.device)
