"""What every recipe model shares: :class:`Strict` (immutable, unknown keys refused) and
:func:`did_you_mean`."""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict, model_validator

from factorspace.errors import FieldError, shown


class Strict(BaseModel):
    """Base of every recipe model: immutable, and unknown keys are refused with a suggestion."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # .inf, .nan

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: object) -> object:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            for key in data:
                if key not in allowed:
                    raise FieldError(
                        (key,),
                        f"unknown key {shown(key)}{did_you_mean(key, allowed)}; "
                        f"allowed: {', '.join(allowed)}",
                    )
        return data


def did_you_mean(name: object, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(name), allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
