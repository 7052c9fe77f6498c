"""Selection rules: how the genotype is chosen at the end of a search (``search.selection``).

Importing it registers the shipped ones: ``argmax`` (DARTS's rule, the default) and
``perturbation`` (DARTS-PT). :func:`run_selection` runs a search's rules group by group and
returns their decisions (:class:`Projection`), from which
:func:`factorspace.search.selecting.selected_genotype` derives the genotype. A layer beside
:mod:`factorspace.relax`: the rules act on the supernet and the loaders they are handed.
"""

from __future__ import annotations

from factorspace.schema.search import operator_group
from factorspace.schema.selection import DEFAULT_SELECTION, SelectionConfig
from factorspace.select import argmax, perturbation  # noqa: F401  (register)
from factorspace.select.base import (
    SELECTION_CLASSES,
    Projection,
    Selection,
    SelectionRun,
    register_selection,
    unregister_selection,
)

__all__ = [
    "SELECTION_CLASSES",
    "Projection",
    "Selection",
    "SelectionRun",
    "build_selection",
    "only_argmax",
    "register_selection",
    "rules_by_group",
    "run_selection",
    "unregister_selection",
]


def build_selection(config: SelectionConfig) -> Selection:
    """The selection rule ``config.kind`` names, set up with ``config``."""
    return SELECTION_CLASSES.build(config, field="search.selection")


def rules_by_group(net, search) -> list[tuple[Selection, list[str]]]:
    """Each distinct rule of ``search`` (``selection``, ``selection_overrides``) with the groups
    it selects for, in the order of the groups."""
    by_config: dict[SelectionConfig, list[str]] = {}
    for group in net.space.searched_factors:
        by_config.setdefault(search.selection_for(group), []).append(group)
    return [(build_selection(config), groups) for config, groups in by_config.items()]


def only_argmax(search) -> bool:
    """Whether every group is selected by DARTS's argmax (nothing to run at the end)."""
    configs = [search.selection, *search.selection_overrides.values()]
    return all(c.kind == DEFAULT_SELECTION for c in configs)


def check_selection(net, search, *, distributed: bool) -> None:
    """Refuse, before the search starts, a rule that cannot select for a group's relaxation."""
    run = SelectionRun(net, 0, None, None, None, None, distributed=distributed)
    for rule, groups in rules_by_group(net, search):
        for group in groups:
            rule.check(group, net.relaxations[group], run)


def run_selection(run: SelectionRun, search) -> Projection:
    """Run ``search``'s selection rules on ``run.net``; returns their decisions. While they run,
    the decisions are the supernet's ``projection`` (its forward passes see them)."""
    net = run.net
    projection = Projection(net, pruning_group=operator_group(net.space.config))
    rules = rules_by_group(net, search)
    for rule, groups in rules:
        for group in groups:
            rule.check(group, net.relaxations[group], run)
    net.projection = projection
    try:
        for rule, groups in rules:
            rule.select(run, groups, projection)
    finally:
        net.projection = None
    return projection
