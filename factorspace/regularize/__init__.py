"""Regularizers of the architecture loss and the weight step (``search.regularizers``).

Importing it registers the shipped ones: ``beta_decay`` (beta-DARTS), ``random_smoothing``
(SDARTS-RS), ``auxiliary_skip`` (DARTS-). :func:`install_regularization` gives a compiled supernet
its :class:`Regularization` (``Supernet.regularization``); without regularizers it stays ``None``
and the supernet computes exactly what it did before they existed.
"""

from __future__ import annotations

from factorspace.errors import FactorspaceError, FieldError, format_loc
from factorspace.regularize import auxiliary_skip, beta_decay, smoothing  # noqa: F401  (register)
from factorspace.regularize.base import (
    REGULARIZER_CLASSES,
    Regularization,
    Regularizer,
    register_regularizer,
    unregister_regularizer,
    weight_step,
)
from factorspace.schema.regularizer import (
    EDGE_LEVEL,
    RegularizerConfig,
    check_regularizer_overrides,
)

__all__ = [
    "REGULARIZER_CLASSES",
    "Regularization",
    "Regularizer",
    "build_regularizer",
    "install_regularization",
    "register_regularizer",
    "unregister_regularizer",
    "weight_step",
]


def build_regularizer(config: RegularizerConfig) -> Regularizer:
    """The regularizer ``config.kind`` names, set up with ``config``."""
    return REGULARIZER_CLASSES.build(config, field="search.regularizers")


def install_regularization(net, search) -> Regularization | None:
    """Build ``search``'s regularizers for ``net`` (one per group, or one edge-level), check them
    against the groups' relaxations, install the edge-level ones and set
    ``net.regularization``; ``None`` (and nothing changed) when there are none.

    Raises:
        FactorspaceError: an override naming no group; a regularizer refusing a relaxation.
    """
    groups = list(net.space.searched_factors)
    try:
        check_regularizer_overrides(search.regularizer_overrides, groups)
    except FieldError as e:
        raise FactorspaceError(e.message, field=format_loc(e.loc)) from None
    per_group = {
        g: [build_regularizer(c) for c in search.regularizers_for(g) if c.kind not in EDGE_LEVEL]
        for g in groups
    }
    per_group = {g: rs for g, rs in per_group.items() if rs}
    edge = [build_regularizer(c) for c in search.regularizers if c.kind in EDGE_LEVEL]
    if not per_group and not edge:
        return None
    for g, regularizers in per_group.items():
        for r in regularizers:
            r.check(g, net.relaxations[g])
    for r in edge:
        r.install(net)
    net.regularization = Regularization(per_group, edge)
    return net.regularization
