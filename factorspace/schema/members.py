"""Schema members selected by ``kind``: the table behind ``search.regularizers``,
``search.selection`` and ``search.early_stop`` (``search.relaxation`` has its own, older copy).

A :class:`KindTable` maps each ``kind`` to its member (a :class:`Strict` model whose ``kind`` is a
``Literal`` with that default). The shipped members are declared beside the table, so that the JSON
Schema lists them; a user's member registers itself in its own module (listed under the recipe's
``imports:``). Validation dispatches on ``kind`` through the table, so a user's member is checked
as strictly as a shipped one: unknown keys, bounds, each error at its field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from factorspace.errors import FieldError
from factorspace.registry import Registry
from factorspace.schema.space import Strict, did_you_mean


class KindConfig(Strict):
    """Base of every member of a :class:`KindTable`: ``kind`` names it."""

    kind: str


M = TypeVar("M", bound=type[KindConfig])


class KindTable:
    """``kind`` -> schema member, and the validator that dispatches a value through it.

    ``what`` names the extension point in messages ("regularizer", "selection rule");
    ``default`` is the kind of a value that leaves ``kind`` out (``None``: ``kind`` is required).
    """

    def __init__(self, what: str, default: str | None = None) -> None:
        self.what, self.default = what, default
        self.members: Registry[type[KindConfig]] = Registry(what)

    def member(self, model: M) -> M:
        """Register ``model`` as the member its ``kind`` default names (a class decorator)."""
        kind = model.model_fields["kind"].default
        if not isinstance(kind, str):
            raise ValueError(f"{model.__name__}.kind needs a string default (its name)")
        self.members.add(kind, model)
        return model

    def names(self) -> list[str]:
        return self.members.names()

    def validate(self, value: Any, handler) -> KindConfig:
        """A pydantic wrap validator: ``value`` validated by the member its ``kind`` names."""
        if isinstance(value, KindConfig):
            return value
        if not isinstance(value, Mapping):
            return handler(value)  # pydantic's own "expected a mapping"
        kind = value.get("kind", self.default)
        if kind is None:
            raise FieldError(("kind",), f"required: the {self.what}'s name ({self._allowed()})")
        if kind not in self.members:
            names = self.names()
            raise FieldError(
                ("kind",),
                f"unknown {self.what} {kind!r}{did_you_mean(kind, names)}; {self._allowed()}",
            )
        try:
            return self.members.get(kind).model_validate({**value, "kind": kind})
        except ValidationError as e:  # keep the inner field's location for the loader
            first = e.errors()[0]
            cause = (first.get("ctx") or {}).get("error")
            loc = (*first["loc"], *(cause.loc if isinstance(cause, FieldError) else ()))
            message = cause.message if isinstance(cause, FieldError) else first["msg"]
            raise FieldError(loc, message) from None

    def _allowed(self) -> str:
        return f"allowed: {', '.join(self.names())}"
