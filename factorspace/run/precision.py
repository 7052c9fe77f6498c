"""Mixed precision, one vocabulary for the search and the re-training (``precision``).

``fp32``: no autocast. ``bf16``: the forward passes autocast to bfloat16 (float32's range, so no
loss scaling). ``fp16``: autocast to float16, whose narrow range lets small gradients underflow,
so the weight step scales the loss (a :class:`torch.amp.GradScaler`: unscaled before clipping,
a step with non-finite gradients skipped and the scale lowered), as torch.amp's recipe does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

Precision = Literal["fp32", "bf16", "fp16"]
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: torch.device, precision: str):
    """The forward passes' autocast for ``precision``; a no-op for fp32."""
    dtype = _DTYPES.get(precision)
    return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler | None:
    """fp16's loss scaler on ``device``; None for the other precisions (nothing to scale)."""
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None


def backward_and_step(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    params: Sequence[nn.Parameter],
    grad_clip: float | None,
    scaler: torch.amp.GradScaler | None = None,
    *,
    inputs: Sequence[torch.Tensor] | None = None,
) -> None:
    """Backward, clip the gradients' norm to ``grad_clip`` (None: no clip), step ``optimizer``.

    With a ``scaler`` the loss is scaled for the backward pass and the gradients unscaled before
    clipping; the step is skipped when they are not finite.
    """
    if scaler is None:
        loss.backward(inputs=inputs)
    else:
        scaler.scale(loss).backward(inputs=inputs)
        scaler.unscale_(optimizer)
    if grad_clip:
        nn.utils.clip_grad_norm_(params, grad_clip)
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
