"""Checkpoints: ``torch.save`` written atomically behind a checksum, read back with errors a user
can act on.

A checkpoint file is one header line, ``factorspace-checkpoint sha256=HEX``, then the bytes of
``torch.save(state)``; :func:`load_checkpoint` refuses bytes whose SHA-256 is not the header's
(a flipped bit, an edit), naming the file. A file without the header (written before it existed)
is read unchecked.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch

from factorspace.errors import FactorspaceError
from factorspace.run.atomic import atomic_write_bytes

MAGIC = b"factorspace-checkpoint sha256="
HEADER_LENGTH = len(MAGIC) + 64 + 1  # the hex digest and a newline


def save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` to ``path``; a kill at any moment keeps the last whole checkpoint."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    header = MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n"
    atomic_write_bytes(path, header + payload)


def load_checkpoint(path: Path) -> dict:
    """The checkpoint at ``path``, its tensors on the CPU.

    Raises:
        FactorspaceError: no such file, a checksum that does not match, or a truncated or
            corrupt file.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FactorspaceError(f"{path}: no checkpoint to resume from") from None
    except OSError as e:
        raise FactorspaceError(f"{path}: cannot read the checkpoint ({e.strerror})") from None
    payload = checked_payload(path, data)
    try:
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)
    except Exception as e:  # truncated or corrupt file
        raise FactorspaceError(
            f"{path}: not a readable checkpoint ({e.__class__.__name__}); "
            "it may be truncated or corrupt"
        ) from None


def checked_payload(path: Path, data: bytes) -> bytes:
    """``data`` without its header, once its checksum matches (a file without one: as it is)."""
    if not data.startswith(MAGIC[:12]):  # b"factorspace-": an unchecked (older) checkpoint
        return data
    header, payload = data[:HEADER_LENGTH], data[HEADER_LENGTH:]
    expected = header[len(MAGIC) : -1].decode("ascii", errors="replace")
    if not header.startswith(MAGIC) or hashlib.sha256(payload).hexdigest() != expected:
        raise FactorspaceError(
            f"{path}: checksum mismatch: the checkpoint changed after it was written (a flipped "
            "bit, a truncation or an edit); refusing to resume from it. Move it away to start "
            "the run again from the beginning"
        )
    return payload
