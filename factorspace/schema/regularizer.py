"""Regularizers of the architecture loss and the weight step: the ``search.regularizers`` members.

``search.regularizers: [{kind: ...}, ...]`` applies to every architecture group;
``search.regularizer_overrides.GROUP: [...]`` replaces the list for one group (``[]``: none). The
shipped members are declared here (their defaults, with the source of each, live here and nowhere
else); the strategies that read them are in :mod:`factorspace.regularize`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, SerializeAsAny, StrictInt, WrapValidator

from factorspace.errors import FieldError
from factorspace.schema.members import KindConfig, KindTable
from factorspace.schema.space import did_you_mean

REGULARIZERS = KindTable("regularizer")


class RegularizerConfig(KindConfig):
    """Base of every ``search.regularizers`` member: ``kind`` names it."""


def regularizer_member(model):
    """Register a :class:`RegularizerConfig` subclass as the member its ``kind`` selects."""
    return REGULARIZERS.member(model)


@regularizer_member
class BetaDecayConfig(RegularizerConfig):
    """beta-DARTS (Ye et al., CVPR 2022): ``lambda(e) * mean_edges logsumexp(alpha)`` added to
    the architecture loss, per group; ``lambda`` grows linearly with the epoch."""

    kind: Literal["beta_decay"] = "beta_decay"
    coefficient: float = Field(
        50.0,
        ge=0,
        description="lambda reached after ramp_epochs, linear from 0 at the first epoch "
        "(beta-DARTS optimizers/darts/architect.py: 50 * epoch / 100)",
    )
    ramp_epochs: StrictInt | None = Field(
        100,
        ge=1,
        description="epochs over which lambda grows to `coefficient`, then stays (beta-DARTS: "
        "100, a constant of its code, whatever the search's length); null: the search's epochs",
    )


@regularizer_member
class RandomSmoothingConfig(RegularizerConfig):
    """SDARTS-RS (Chen & Hsieh, ICML 2020): the weight step sees the architecture weights plus
    uniform noise in [-epsilon, epsilon], clipped to [0, 1] and renormalised per edge."""

    kind: Literal["random_smoothing"] = "random_smoothing"
    epsilon_min: float = Field(
        0.03, ge=0, le=1, description="epsilon at the first epoch (SDARTS: 0.03)"
    )
    epsilon_max: float = Field(
        0.3,
        ge=0,
        le=1,
        description="epsilon approached linearly, epsilon_min + (epsilon_max - epsilon_min) * "
        "epoch / epochs (SDARTS train_search.py: --epsilon_alpha 0.3)",
    )


@regularizer_member
class AuxiliarySkipConfig(RegularizerConfig):
    """DARTS- (Chu et al., ICLR 2021): every edge adds ``beta(e) * skip(x)`` outside its softmax;
    ``beta`` decays to 0 over the search."""

    kind: Literal["auxiliary_skip"] = "auxiliary_skip"
    beta: float = Field(1.0, ge=0, description="beta at the first epoch (DARTS-: --skip_beta 1)")
    decay: Literal["linear", "cosine"] = Field(
        "linear",
        description="linear: beta * (T - epoch) / T; cosine: beta * (1 + cos(pi * epoch / T)) / 2 "
        "(DARTS- scripts/run_darts_minus.sh: linear)",
    )
    decay_epochs: StrictInt | None = Field(
        None,
        ge=1,
        description="T, the epoch at which beta reaches 0 and stays (DARTS-: --decay_max_epoch "
        "50, its search's epochs); null: the search's epochs",
    )


AnyRegularizer = Annotated[
    SerializeAsAny[
        Annotated[
            BetaDecayConfig | RandomSmoothingConfig | AuxiliarySkipConfig,
            Field(discriminator="kind"),
        ]
    ],
    WrapValidator(REGULARIZERS.validate),
]
"""A ``search.regularizers`` item; the JSON Schema shows the shipped members."""

EDGE_LEVEL: set[str] = {"auxiliary_skip"}
"""Members that act on every edge, not on one group's weights: never in an override. A user's
edge-level member adds its kind here (:func:`factorspace.regularize.register_regularizer` does)."""


def check_regularizer_overrides(overrides: Mapping[str, Any], groups: list[str]) -> None:
    """Refuse an override naming no architecture group, or holding an edge-level regularizer.

    Raises:
        FieldError: at ``search.regularizer_overrides.NAME[...]``.
    """
    for name, items in overrides.items():
        if name not in groups:
            raise FieldError(
                ("search", "regularizer_overrides", name),
                f"no architecture group {name!r}{did_you_mean(name, groups)}; the space searches: "
                f"{', '.join(groups)} (mode joint has one group, 'joint': set search.regularizers)",
            )
        for i, item in enumerate(items):
            if item.kind in EDGE_LEVEL:
                raise FieldError(
                    ("search", "regularizer_overrides", name, i, "kind"),
                    f"{item.kind!r} acts on every edge, outside the groups' softmaxes: list it "
                    "under search.regularizers",
                )
