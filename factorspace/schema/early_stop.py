"""Rules that stop a search early: the ``search.early_stop`` members.

``search.early_stop: [{kind: ...}, ...]`` lists the rules a search checks after every epoch past
the warm-up; the first that fires stops it, and the run records why (``run.json``'s
``early_stop``). DARTS+'s skip-connect rule is the older field ``search.early_stop_skip_count``.
The rules' code is :mod:`factorspace.search.early_stop`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SerializeAsAny, StrictInt, WrapValidator, model_validator

from factorspace.errors import FieldError
from factorspace.schema.members import KindConfig, KindTable

STOP_RULES = KindTable("early-stopping rule")


class StopRuleConfig(KindConfig):
    """Base of every ``search.early_stop`` member: ``kind`` names it."""


def stop_rule_member(model):
    """Register a :class:`StopRuleConfig` subclass as the member its ``kind`` selects."""
    return STOP_RULES.member(model)


@stop_rule_member
class StableRankingConfig(StopRuleConfig):
    """DARTS+ (Liang et al. 2019), criterion 2: stop once the ranking of the learnable
    operations' weights has not changed for ``epochs`` epochs."""

    kind: Literal["stable_ranking"] = "stable_ranking"
    epochs: StrictInt = Field(
        10, ge=1, description="epochs the ranking stays the same (DARTS+: 10)"
    )


@stop_rule_member
class HessianEigenvalueConfig(StopRuleConfig):
    """RobustDARTS's DARTS-ES (Zela et al., ICLR 2020): stop when the dominant eigenvalue of the
    validation loss's Hessian w.r.t. the architecture grows, and return the architecture from
    ``lag`` computations earlier."""

    kind: Literal["hessian_eigenvalue"] = "hessian_eigenvalue"
    every: StrictInt = Field(
        1, ge=1, description="epochs between two eigenvalues (RobustDARTS's scripts: 2)"
    )
    window: StrictInt = Field(
        5,
        ge=1,
        description="eigenvalues in each local average, centred on its epoch (RobustDARTS: 5)",
    )
    lag: StrictInt = Field(
        5,
        ge=1,
        description="how many eigenvalues back the earlier local average is (the paper's k = 5 "
        "epochs; RobustDARTS's code: delta 4 at every 2 epochs)",
    )
    ratio: float = Field(
        0.75,
        gt=0,
        lt=1,
        description="stop when the earlier local average over the current one falls below this "
        "(the paper: 0.75; the code: 1 / 1.3)",
    )
    start_epoch: StrictInt = Field(
        10,
        ge=1,
        description="the earliest epoch the rule may return (RobustDARTS: es_start_epoch 10)",
    )
    batches: StrictInt = Field(
        1, ge=1, description="validation batches the loss is taken on (RobustDARTS: 1)"
    )
    iterations: StrictInt = Field(
        20, ge=1, description="at most this many Hessian-vector products per power iteration"
    )
    tolerance: float = Field(
        1e-3, gt=0, description="power iteration stops when the estimate moves less (relative)"
    )

    @model_validator(mode="after")
    def _odd_window(self) -> HessianEigenvalueConfig:
        if self.window % 2 == 0:
            raise FieldError(
                ("window",), f"{self.window} is even: a local average is centred on its epoch"
            )
        return self


AnyStopRule = Annotated[
    SerializeAsAny[
        Annotated[StableRankingConfig | HessianEigenvalueConfig, Field(discriminator="kind")]
    ],
    WrapValidator(STOP_RULES.validate),
]
"""A ``search.early_stop`` item; the JSON Schema shows the shipped members."""
