"""Checkpoints: ``torch.save`` written atomically, and read back with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import torch

from factorspace.errors import FactorspaceError
from factorspace.run.atomic import atomic_write


def save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` to ``path``; a kill at any moment keeps the last whole checkpoint."""
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: Path) -> dict:
    """The checkpoint at ``path``, its tensors on the CPU.

    Raises:
        FactorspaceError: no such file, or a truncated or corrupt one.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise FactorspaceError(f"{path}: no checkpoint to resume from") from None
    except Exception as e:  # truncated or corrupt file
        raise FactorspaceError(
            f"{path}: not a readable checkpoint ({e.__class__.__name__}); "
            "it may be truncated or corrupt"
        ) from None
