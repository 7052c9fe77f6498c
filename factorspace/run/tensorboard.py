"""TensorBoard, when it is installed: an optional mirror of the metrics a run writes."""

from __future__ import annotations

from pathlib import Path


def tensorboard_writer(log_dir: Path):
    """A ``SummaryWriter`` logging to ``log_dir``; None when TensorBoard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(log_dir))
