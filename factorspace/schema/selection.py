"""How the genotype is chosen at the end of a search: the ``search.selection`` members.

``search.selection: {kind: argmax}`` (DARTS's rule, the default) applies to every architecture
group; ``search.selection_overrides.GROUP: {kind: ...}`` replaces it for one group. The shipped
members are declared here; the strategies are in :mod:`factorspace.select`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, SerializeAsAny, StrictBool, StrictInt, WrapValidator

from factorspace.errors import FieldError
from factorspace.schema.members import KindConfig, KindTable
from factorspace.schema.space import did_you_mean

DEFAULT_SELECTION = "argmax"
SELECTIONS = KindTable("selection rule", default=DEFAULT_SELECTION)


class SelectionConfig(KindConfig):
    """Base of every ``search.selection`` member: ``kind`` names it."""


def selection_member(model):
    """Register a :class:`SelectionConfig` subclass as the member its ``kind`` selects."""
    return SELECTIONS.member(model)


@selection_member
class ArgmaxConfig(SelectionConfig):
    """DARTS (Liu et al. 2019): each edge's strongest choice, each node's strongest inputs."""

    kind: Literal["argmax"] = "argmax"


@selection_member
class PerturbationConfig(SelectionConfig):
    """DARTS-PT (Wang et al., ICLR 2021): on one edge at a time, in random order, each choice is
    masked in turn and the one whose removal costs the most validation accuracy is kept; the
    supernet is fine-tuned between two decisions."""

    kind: Literal["perturbation"] = "perturbation"
    criterion: Literal["accuracy", "loss"] = Field(
        "accuracy",
        description="what a masked choice costs: the drop in validation accuracy, or the rise in "
        "validation loss (DARTS-PT: --proj_crit acc)",
    )
    tune_epochs: StrictInt = Field(
        5,
        ge=0,
        description="epochs of fine-tuning between two decisions (DARTS-PT: --proj_intv 5)",
    )
    tune_lr_scale: float = Field(
        0.1,
        gt=0,
        le=1,
        description="the fine-tuning's weight learning rate, constant, as a fraction of "
        "search.weights.lr (DARTS-PT: a new SGD at learning_rate / 10; the cosine schedule its "
        "DARTS-space code creates is never stepped)",
    )
    eval_batches: StrictInt | None = Field(
        None,
        ge=1,
        description="validation batches each masked choice is scored on; null: the whole "
        "validation split, as DARTS-PT",
    )
    topology: StrictBool = Field(
        True,
        description="cells that keep some inputs per node (cell.keep): choose them by "
        "perturbation too, after the operations (DARTS-PT's project_edge); false: DARTS's rule",
    )


AnySelection = Annotated[
    SerializeAsAny[Annotated[ArgmaxConfig | PerturbationConfig, Field(discriminator="kind")]],
    WrapValidator(SELECTIONS.validate),
]
"""A ``search.selection`` value; the JSON Schema shows the shipped members."""


def check_selection_overrides(overrides: Mapping[str, Any], groups: list[str]) -> None:
    """Refuse an override naming no architecture group.

    Raises:
        FieldError: at ``search.selection_overrides.NAME``.
    """
    for name in overrides:
        if name not in groups:
            raise FieldError(
                ("search", "selection_overrides", name),
                f"no architecture group {name!r}{did_you_mean(name, groups)}; the space searches: "
                f"{', '.join(groups)} (mode joint has one group, 'joint': set search.selection)",
            )
