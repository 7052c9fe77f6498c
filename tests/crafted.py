"""Files crafted to run code when opened (issue 26): the tests show no command opens them so."""

from __future__ import annotations

import hashlib
import io
import os
import shlex
from pathlib import Path

import torch

from factorspace.run.checkpoint import MAGIC


class RunsCode:
    """Unpickled by a full unpickler (``torch.load(weights_only=False)``), it runs
    ``touch MARKER``; torch's restricted unpickler refuses it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def checked(body: bytes) -> bytes:
    """``body`` behind the header a checkpoint carries: its sha256, which anyone can compute."""
    return MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def crafted_checkpoint(path: Path, marker: Path, *, header: bool, train: bool) -> Path:
    """A checkpoint with every key a real one has, and the object that runs code."""
    state = {"epoch": 0, "step": 1, "totals": {}, "rng": {}, "payload": RunsCode(marker)}
    if train:
        state |= {"format": "factorspace.train", "model": {}, "optimizer": {}}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(checked(buffer.getvalue()) if header else buffer.getvalue())
    return path
