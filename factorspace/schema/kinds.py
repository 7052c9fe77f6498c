"""Schema members selected by a ``kind`` key that may be absent: ``space.cell`` and ``supernet``.

As ``search.relaxation`` (:mod:`factorspace.schema.relaxation`), each of these sections is a union
of members, one per cell family, each its own model (so a field that means nothing for a family
is refused by ``extra="forbid"``), chosen by ``kind``. Unlike a relaxation, the key is usually
absent: every recipe written before the families existed is DARTS's, so a missing ``kind`` is the
default member's, and that member leaves ``kind`` out of a dump (a resolved recipe, a run's
``recipe.yaml``) so that those files, and a resume's comparison with them, are unchanged.

A family registers its members with :func:`kind_member`; validation dispatches on ``kind``
through that table, so a user's family is selectable like the shipped ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from factorspace.errors import (
    PLAIN_MESSAGES,
    FactorspaceError,
    FieldError,
    shown,
    validation_message,
)
from factorspace.registry import Registry
from factorspace.schema.space import Strict, did_you_mean

DEFAULT_FAMILY = "darts"
"""The cell family of a recipe, genotype or record that names none: DARTS's."""


class KindMember(Strict):
    """Base of a member chosen by ``kind`` (its ``Literal`` default names it)."""

    kind: str


M = TypeVar("M", bound=type[KindMember])


def kind_member(registry: Registry, model: M) -> M:
    """Add ``model`` (whose ``kind`` is a ``Literal`` with that default) to ``registry``."""
    kind = model.model_fields["kind"].default
    if not isinstance(kind, str):
        raise ValueError(f"{model.__name__}.kind needs a string default (its name)")
    registry.add(kind, model)
    return model


def dispatch(registry: Registry, what: str):
    """A pydantic wrap validator: validate a mapping by the member its ``kind`` names, or the
    default family's member when it names none; an unknown ``kind`` is refused at ``kind``."""

    def validate(value: Any, handler) -> KindMember:
        if isinstance(value, KindMember):
            return value
        if not isinstance(value, Mapping):
            raise FieldError((), f"{PLAIN_MESSAGES['model_type']} (got {shown(value)})")
        kind = value.get("kind", DEFAULT_FAMILY)
        if not isinstance(kind, str) or kind not in registry:
            names = registry.names()
            raise FieldError(
                ("kind",),
                f"unknown {what} {kind!r}{did_you_mean(kind, names)}; allowed: {', '.join(names)}",
            )
        try:
            return registry.get(kind).model_validate({**value, "kind": kind})
        except ValidationError as e:  # keep the inner field's location for the loader
            first = e.errors()[0]
            cause = (first.get("ctx") or {}).get("error")
            loc = (*first["loc"], *(cause.loc if isinstance(cause, FieldError) else ()))
            message = cause.message if isinstance(cause, FieldError) else validation_message(first)
            raise FieldError(loc, message) from None

    return validate


class KindSchema:
    """The JSON Schema of a ``kind`` union: ``if kind is X then X's member`` for each
    non-default member, else the default member's. Editors then check a recipe without ``kind``
    against the default member alone, with its own messages, and one with ``kind`` against
    that member (a plain ``anyOf`` would report only "matches none").

    ``kinds`` names the union's members in the order the annotation lists them.
    """

    def __init__(self, *kinds: str) -> None:
        self.kinds = kinds

    def __get_pydantic_json_schema__(self, core_schema, handler) -> dict:
        union = handler(core_schema)  # anyOf: a $ref to each member's definition, in order
        members = dict(zip(self.kinds, union["anyOf"], strict=True))
        result = members.pop(DEFAULT_FAMILY)
        for kind, schema in reversed(members.items()):
            result = {
                "if": {"required": ["kind"], "properties": {"kind": {"const": kind}}},
                "then": schema,
                "else": result,
            }
        return result


CELL_FAMILIES: Registry = Registry("cell family")
"""Family name -> its behaviour (a :class:`factorspace.cells.CellFamily`): derivation, genotype
checks, networks, records. It lives here, below every layer that dispatches on a family, and is
filled by :func:`factorspace.cells.register_cell_family` (the shipped families when
``factorspace`` is imported)."""


def get_family(name: str | None):
    """The family registered as ``name`` (``None``: DARTS's).

    Raises:
        FactorspaceError: for a name no family has.
    """
    name = name or DEFAULT_FAMILY
    if name not in CELL_FAMILIES:
        raise FactorspaceError(
            f"unknown cell family {name!r}; registered: {', '.join(CELL_FAMILIES.names())}"
        )
    return CELL_FAMILIES.get(name)
