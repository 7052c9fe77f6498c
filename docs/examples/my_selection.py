"""A new selection rule in one file: prefer a learnable operation unless a parameter-free one
clearly leads.

List this module under a recipe's ``imports:`` and select it with
``search.selection: {kind: prefer_learnable, margin: 0.05}``. It decides the operator of every
edge; the other factors and each node's inputs stay with DARTS's rule. The test suite imports
it, runs it and unregisters it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from factorspace.registry import OPERATORS
from factorspace.schema.search import operator_group
from factorspace.schema.selection import SelectionConfig
from factorspace.select import Selection, register_selection


# --8<-- [start:member]
class PreferLearnableConfig(SelectionConfig):
    """The schema member: its fields, bounds and defaults, checked when the recipe loads."""

    kind: Literal["prefer_learnable"] = "prefer_learnable"
    margin: float = Field(0.05, ge=0, le=1, description="how far a parameter-free op must lead")


# --8<-- [end:member]


# --8<-- [start:rule]
@register_selection("prefer_learnable", config=PreferLearnableConfig)
class PreferLearnable(Selection):
    """Each edge's strongest operation, but a parameter-free winner (skip, pooling) gives way to
    the strongest learnable one when it leads by less than ``margin``."""

    config: PreferLearnableConfig

    def select(self, run, groups, projection) -> None:
        space = run.net.space
        group = operator_group(space.config)
        if space.mode != "factorized" or group not in groups:
            return  # this rule reads the operator factor of a factorized space only
        ops = space.config.operator.choices
        learnable = [i for i, op in enumerate(ops) if "parameterized" in OPERATORS.get(op).tags]
        for cell_type, probabilities in run.net.arch_probabilities().items():
            for edge, row in enumerate(probabilities[group].tolist()):
                best = max(range(len(ops)), key=row.__getitem__)
                runner_up = max(learnable, key=row.__getitem__)
                if best not in learnable and row[best] - row[runner_up] < self.config.margin:
                    best = runner_up
                projection.fixed[(cell_type, group, edge)] = best


# --8<-- [end:rule]
