"""How each factor's architecture logits become edge weights: the ``search.relaxation`` members.

``search.relaxation: {kind: ..., ...}`` is a union discriminated by ``kind``. The shipped members
(``softmax``, ``gumbel``, ``dirichlet``) are declared here, so that the JSON Schema lists them and
their defaults live in one place. A user relaxation adds its own member in its own module (listed
under the recipe's ``imports:``) with :func:`relaxation_member`; validation dispatches on ``kind``
through that table, so the member is selectable like the shipped ones. The strategy that reads a
member (forward weights, probabilities, loss, schedule) is registered in :mod:`factorspace.relax`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, SerializeAsAny, ValidationError, WrapValidator, model_validator

from factorspace.errors import FieldError
from factorspace.registry import Registry
from factorspace.schema.space import Strict, did_you_mean

DEFAULT_KIND = "softmax"


class RelaxationConfig(Strict):
    """Base of every ``search.relaxation`` member: ``kind`` names it."""

    kind: str


RELAXATION_CONFIGS: Registry[type[RelaxationConfig]] = Registry("relaxation")
M = TypeVar("M", bound=type[RelaxationConfig])


def relaxation_member(model: M) -> M:
    """Register ``model`` (a :class:`RelaxationConfig` whose ``kind`` is a ``Literal`` with that
    default) as the schema member selected by its ``kind``."""
    kind = model.model_fields["kind"].default
    if not isinstance(kind, str):
        raise ValueError(f"{model.__name__}.kind needs a string default (its name)")
    RELAXATION_CONFIGS.add(kind, model)
    return model


@relaxation_member
class SoftmaxConfig(RelaxationConfig):
    """DARTS (Liu et al. 2019): a softmax over each edge's choices, every choice computed."""

    kind: Literal["softmax"] = "softmax"


@relaxation_member
class GumbelConfig(RelaxationConfig):
    """GDAS (Dong & Yang 2019): one hard Gumbel-softmax sample per edge, only it computed."""

    kind: Literal["gumbel"] = "gumbel"
    tau_max: float = Field(10.0, gt=0, description="temperature at the first epoch (GDAS: 10)")
    tau_min: float = Field(
        0.1, gt=0, description="temperature at the last epoch, reached linearly (GDAS: 0.1)"
    )

    @model_validator(mode="after")
    def _order(self) -> GumbelConfig:
        if self.tau_min > self.tau_max:
            raise FieldError(
                ("tau_min",), f"{self.tau_min} is above tau_max={self.tau_max}; it anneals down"
            )
        return self


@relaxation_member
class DirichletConfig(RelaxationConfig):
    """DrNAS (Chen et al. 2021): weights sampled from Dirichlet(elu(logits) + 1), plus a KL term."""

    kind: Literal["dirichlet"] = "dirichlet"
    prior: float = Field(
        1.0, gt=0, description="concentration of the Dirichlet prior of the KL term (DrNAS: 1)"
    )
    reg_scale: float = Field(
        1e-3, ge=0, description="weight of the KL term in the architecture loss (DrNAS: 1e-3)"
    )


def _by_kind(value: Any, handler) -> RelaxationConfig:
    """Validate ``value`` by the member its ``kind`` names (shipped or user-registered)."""
    if isinstance(value, RelaxationConfig):
        return value
    if not isinstance(value, Mapping):
        return handler(value)  # pydantic's own "expected a mapping"
    kind = value.get("kind", DEFAULT_KIND)
    if kind not in RELAXATION_CONFIGS:
        names = RELAXATION_CONFIGS.names()
        raise FieldError(
            ("kind",),
            f"unknown relaxation {kind!r}{did_you_mean(kind, names)}; allowed: {', '.join(names)}",
        )
    try:
        return RELAXATION_CONFIGS.get(kind).model_validate({**value, "kind": kind})
    except ValidationError as e:  # keep the inner field's location for the loader
        first = e.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        loc = (*first["loc"], *(cause.loc if isinstance(cause, FieldError) else ()))
        message = cause.message if isinstance(cause, FieldError) else first["msg"]
        raise FieldError(loc, message) from None


AnyRelaxation = Annotated[
    SerializeAsAny[
        Annotated[SoftmaxConfig | GumbelConfig | DirichletConfig, Field(discriminator="kind")]
    ],
    WrapValidator(_by_kind),
]
"""A ``search.relaxation`` value; the JSON Schema shows the shipped members."""


def check_relaxation_overrides(overrides: Mapping[str, Any], groups: list[str]) -> None:
    """Refuse an override naming no architecture group of the space.

    Raises:
        FieldError: at ``search.relaxation_overrides.NAME``.
    """
    for name in overrides:
        if name not in groups:
            raise FieldError(
                ("search", "relaxation_overrides", name),
                f"no architecture group {name!r}{did_you_mean(name, groups)}; the space searches: "
                f"{', '.join(groups)} (a fixed factor has none; mode joint has one, 'joint': set "
                "search.relaxation)",
            )
