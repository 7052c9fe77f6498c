"""Checkpoints: ``torch.save`` written atomically behind a checksum, with the run's records it
depends on, read back with errors a user can act on.

A checkpoint file is one header line, ``factorspace-checkpoint sha256=HEX``, then the body: an
optional records block, ``records LENGTH`` and a newline followed by LENGTH bytes (the run's
record files as they were at the save, zlib-compressed JSON), then the bytes of
``torch.save(state)``. HEX is the SHA-256 of the whole body, so :func:`load_checkpoint` refuses a
flipped bit or an edit anywhere in it, naming the file. A file without the header (written
before it existed) is read unchecked; one without a records block (written before records were
kept, or outside a run directory) has no records to check.

Loading runs no code. The checksum guards against damage, not against a crafted file (whoever
crafts one computes its checksum too), so the state is read with ``torch.load(weights_only=True)``:
torch's restricted unpickler, which builds tensors, numbers, strings, lists, tuples and dicts and
refuses any other Python object (an ``os.system`` smuggled in through ``__reduce__``) before
calling it. Everything a run keeps is such plain data (state dicts, random states, metrics rows,
the resolved recipe), as it has been in every checkpoint factorspace wrote, so older checkpoints
load unchanged and no "trust this file" switch is needed. (A JSON header over raw tensor bytes,
as safetensors does, would avoid pickle entirely, but optimizer states key their entries by
integers and Python's random state is a tuple: each would need its own encoding, for no gain
over an allow-list torch maintains; torch 2.6 fixed the last known way around it, hence
``torch>=2.6``.) The records are JSON, and their names must be the record files'
(:data:`RECORD_GLOBS`), so a crafted block cannot write outside the run directory.

The records (:data:`RECORD_GLOBS`: the per-epoch architecture and genotype files, a
re-training's genotype) are what a resume continues from besides the state: on resume
:func:`restore_records` rewrites any that went missing or changed from the checkpoint's copy,
as the metrics rows are rewritten from the checkpoint's (``factorspace.run.base``). The run's
``recipe.yaml`` is kept as well: a resume refuses an edited one, showing what changed
(:mod:`factorspace.run.resume`), since ``--resume RUN`` reads its recipe from there.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
import warnings
import zlib
from pathlib import Path, PurePosixPath

import torch

from factorspace.errors import FactorspaceError, clip
from factorspace.run.atomic import atomic_write_bytes

MAGIC = b"factorspace-checkpoint sha256="
HEADER_LENGTH = len(MAGIC) + 64 + 1  # the hex digest and a newline
RECORDS_TAG = b"records "
CHECKPOINTS_DIR = "checkpoints"  # a run's checkpoint is RUN_DIR/checkpoints/last.pt (RunDir)
RECORD_GLOBS = ("genotype.json", "arch/epoch_*.json", "genotypes/epoch_*.json")
RECIPE_RECORD = "recipe.yaml"  # kept too, to refuse a resume after an edit (run.resume)
KEPT = (*RECORD_GLOBS, RECIPE_RECORD)
MAX_RECORDS_BYTES = 256 * 2**20  # the records uncompressed: kilobytes in practice


def save_checkpoint(path: Path, state: dict, run_dir: Path | None = None) -> None:
    """Write ``state`` to ``path`` with the records of ``run_dir`` (default: the run directory
    of a ``RUN_DIR/checkpoints/...`` path; none elsewhere); a kill at any moment keeps the last
    whole checkpoint."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    root = run_dir if run_dir is not None else run_dir_of(path)
    body = records_block(read_records(root) if root is not None else {}) + buffer.getvalue()
    header = MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n"
    atomic_write_bytes(path, header + body)


def load_checkpoint(path: Path) -> dict:
    """The checkpoint at ``path``, its tensors on the CPU.

    Raises:
        FactorspaceError: no such file, a checksum that does not match, or a truncated or
            corrupt file.
    """
    _, payload = split_body(path, checked_payload(path, read_checkpoint(path)))
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it reads anyway
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL (\S+)", str(e))
        if found:  # a Python object: a crafted file, or one written by another program
            raise FactorspaceError(
                f"{path}: refused: it holds a Python object ({clip(found.group(1), 60)}), not "
                "only tensors and plain data; factorspace loads checkpoints as data only, so "
                "that opening one runs no code (a checkpoint factorspace wrote holds none)"
            ) from None
        raise unreadable(path, e) from None
    except Exception as e:  # truncated or corrupt file
        raise unreadable(path, e) from None


def unreadable(path: Path, error: Exception) -> FactorspaceError:
    return FactorspaceError(
        f"{path}: not a readable checkpoint ({error.__class__.__name__}); "
        "it may be truncated or corrupt"
    )


def checkpoint_records(path: Path) -> dict[str, bytes] | None:
    """The record files the checkpoint at ``path`` kept (path relative to the run directory ->
    content); ``None`` for a checkpoint that kept none (older, or written outside a run).

    Raises:
        FactorspaceError: as :func:`load_checkpoint`.
    """
    records, _ = split_body(path, checked_payload(path, read_checkpoint(path)))
    return records


def restore_records(
    run_dir: Path, checkpoint: Path, records: dict[str, bytes] | None = None
) -> list[str]:
    """Rewrite the records of ``run_dir`` that are missing or differ from ``checkpoint``'s
    copies (``records``: those, read already); one line per file saying what was wrong (empty
    when every record agrees, or the checkpoint kept none). Files the checkpoint did not keep
    (written after it) are left, and so is ``recipe.yaml``: an edit of it is refused instead
    (:func:`factorspace.run.resume.check_resumable`).

    Raises:
        FactorspaceError: as :func:`load_checkpoint`; a record that cannot be written back.
    """
    if records is None:
        records = checkpoint_records(checkpoint) or {}
    check_record_names(checkpoint, records)
    notes = []
    for name, content in sorted(records.items()):
        if name == RECIPE_RECORD:
            continue
        target = Path(run_dir) / name
        if not target.parent.resolve().is_relative_to(Path(run_dir).resolve()):
            raise FactorspaceError(
                f"{target.parent}: a link out of the run directory {run_dir}; cannot --resume"
            )
        problem = record_problem(target, content)
        if problem is None:
            continue
        try:
            atomic_write_bytes(target, content)
        except OSError as e:
            raise FactorspaceError(
                f"{target}: {problem} and cannot be rewritten from the checkpoint {checkpoint} "
                f"({e.strerror}); cannot --resume"
            ) from None
        notes.append(f"{target}: {problem}; rewritten from the checkpoint {checkpoint}")
    return notes


def record_problem(target: Path, content: bytes) -> str | None:
    """What is wrong with the record ``target`` against the checkpoint's ``content``; None: right."""
    if target.is_symlink():
        return "a link, not the run's file"
    if not target.exists():
        return "missing"
    try:
        on_disk = target.read_bytes()
    except OSError as e:
        return f"unreadable ({e.strerror})"
    return None if on_disk == content else "differs from the checkpoint's copy"


def check_record_names(checkpoint: Path, records: dict[str, bytes]) -> None:
    """Refuse records that name files other than a run's records (a crafted or foreign block)."""
    for name in records:
        if not is_record_name(name):
            raise FactorspaceError(
                f"{checkpoint}: refused: its records name {clip(repr(name))}, which is not a "
                f"record file of a run ({', '.join(KEPT)})"
            )


def is_record_name(name: str) -> bool:
    """Whether ``name`` is a kept file's path relative to its run directory (one of
    :data:`KEPT`, part for part: no ``..``, no absolute path)."""
    parts = PurePosixPath(name).parts
    return "\\" not in name and any(
        len(parts) == len(pattern.split("/"))
        and all(
            re.fullmatch(re.escape(p).replace(r"\*", r"[\w.-]*"), part) and part not in (".", "..")
            for part, p in zip(parts, pattern.split("/"), strict=True)
        )
        for pattern in KEPT
    )


def run_dir_of(path: Path) -> Path | None:
    """The run directory of a checkpoint at ``RUN_DIR/checkpoints/NAME``; None elsewhere."""
    return path.parent.parent if path.parent.name == CHECKPOINTS_DIR else None


def read_records(run_dir: Path) -> dict[str, bytes]:
    """The record files in ``run_dir`` (:data:`KEPT`), by path relative to it."""
    records = {}
    for pattern in KEPT:
        for file in sorted(Path(run_dir).glob(pattern)):
            if file.is_file() and not file.is_symlink():
                records[file.relative_to(run_dir).as_posix()] = file.read_bytes()
    return records


def records_block(records: dict[str, bytes]) -> bytes:
    """``records LENGTH\\n`` and the compressed records; nothing when there are none."""
    if not records:
        return b""
    text = json.dumps({k: v.decode("latin-1") for k, v in records.items()})  # any bytes
    blob = zlib.compress(text.encode("utf-8"))
    return RECORDS_TAG + str(len(blob)).encode() + b"\n" + blob


def split_body(path: Path, body: bytes) -> tuple[dict[str, bytes] | None, bytes]:
    """A checked body's records (None if it has none) and its ``torch.save`` payload."""
    if not body.startswith(RECORDS_TAG):
        return None, body
    line_end = body.find(b"\n")
    try:
        length = int(body[len(RECORDS_TAG) : line_end])
        blob = body[line_end + 1 : line_end + 1 + length]
        inflate = zlib.decompressobj()
        data = inflate.decompress(blob, MAX_RECORDS_BYTES)
        if inflate.unconsumed_tail:  # a crafted block: refuse before it fills the memory
            raise ValueError(f"over {MAX_RECORDS_BYTES >> 20} MiB uncompressed")
        records = {k: v.encode("latin-1") for k, v in json.loads(data.decode("utf-8")).items()}
    except (ValueError, zlib.error, AttributeError) as e:
        raise FactorspaceError(
            f"{path}: not a readable checkpoint (its records: {e.__class__.__name__}); "
            "it may be truncated or corrupt"
        ) from None
    return records, body[line_end + 1 + length :]


def read_checkpoint(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise FactorspaceError(f"{path}: no checkpoint to resume from") from None
    except OSError as e:
        raise FactorspaceError(f"{path}: cannot read the checkpoint ({e.strerror})") from None


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
