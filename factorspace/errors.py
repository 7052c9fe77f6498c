"""The one error type users see: a message naming the file, the line and the field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class FactorspaceError(Exception):
    """Bad input or an unusable resource. The CLI prints ``str(error)`` and exits 2.

    ``str()`` reads ``FILE:LINE: FIELD: message``, omitting the parts that are unknown. ``field``
    is the dotted recipe field the error is about (``data.root``); an error raised where the file
    is not known carries the field alone, and :func:`factorspace.loader.errors_located` adds the
    recipe file and the field's line from the field, never from the message text.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        file: Path | str | None = None,
        line: int | None = None,
    ) -> None:
        # however a message was built, it stays readable: a user's value repeated whole (a
        # 60,000-node concat) is cut around an ellipsis, keeping its start and its end
        message = clip(message, MESSAGE_LIMIT)
        self.message, self.field, self.file, self.line = message, field or None, file, line
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class Interrupted(FactorspaceError):
    """A run stopped by Ctrl-C or SIGTERM after writing its checkpoint; ``--resume`` continues it.

    The CLI prints the message and exits with :data:`EXIT_INTERRUPTED` (130, as a shell reports
    Ctrl-C) for either signal, so a job script can tell "resumable" from "bad input" (2).
    """


EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class RecipeError(FactorspaceError):
    """A recipe (or a genotype) that does not validate; located like any :class:`FactorspaceError`.

    ``path`` is the file (the keyword predates ``FactorspaceError``'s ``file``).
    """

    def __init__(
        self, message: str, *, path: Path | str | None = None, line: int | None = None, field=""
    ) -> None:
        super().__init__(message, field=field, file=path, line=line)

    @property
    def path(self) -> Path | str | None:
        return self.file


class FieldError(ValueError):
    """Raised inside a pydantic validator to point at a sub-field of the model being checked.

    pydantic keeps the original exception in the error's context, so the loader can extend the
    error's location with ``loc`` and report the exact field (and its YAML line).
    """

    def __init__(self, loc: Sequence[str | int], message: str) -> None:
        self.loc = tuple(loc)
        self.message = message
        super().__init__(f"{format_loc(self.loc)}: {message}" if self.loc else message)


def format_loc(loc: Sequence[str | int]) -> str:
    """('space', 'factors', 1, 'choices') -> 'space.factors[1].choices' (long keys shortened)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{clip(str(part))}" if out else clip(str(part))
    return out


ECHO_LIMIT = 80
"""Most characters of a user's value an error message repeats."""
MESSAGE_LIMIT = 2000
"""Most characters of a whole message (a few lines of a terminal)."""


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters around an ellipsis when cut: its start and its last
    quarter, so that a long path keeps its file name."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    return text[: limit - 1 - tail] + "…" + text[len(text) - tail :]


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` for an error message, at most ``limit`` characters.

    A user's value may be a megabyte string or an integer too long for ``repr`` (Python
    refuses more than 4,300 digits): either reads as a short, recognisable stand-in.
    """
    try:
        text = repr(value)
    except ValueError:  # int too long to convert
        return f"<an integer of about {int(value.bit_length() * 0.30103):,} digits>"
    return clip(text, limit)


PLAIN_MESSAGES = {
    "model_type": "expected a mapping (`key: value` lines)",
    "model_attributes_type": "expected a mapping (`key: value` lines)",
    "dict_type": "expected a mapping (`key: value` lines)",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
}


def validation_message(err: dict) -> str:
    """The message of one pydantic error (``ValidationError.errors()[i]``) as factorspace shows
    it: plain words for the type errors, ``required key is missing``, and the value given."""
    if err["type"] == "missing":
        return "required key is missing"
    message = PLAIN_MESSAGES.get(err["type"], err["msg"])
    if err["type"] != "extra_forbidden" and not isinstance(err.get("input"), dict):
        message += f" (got {shown(err.get('input'))})"
    return message
