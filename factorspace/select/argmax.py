"""DARTS's selection (Liu et al. 2019): the strongest choice of each edge, the strongest inputs of
each node (``factorspace.derive``'s rule, ``model_search.Network.genotype``). It decides nothing
itself: the final derivation's argmax does it, exactly as before selection rules existed."""

from __future__ import annotations

from factorspace.select.base import Selection, register_selection


@register_selection("argmax")
class Argmax(Selection):
    """Leaves every choice to DARTS's rule."""
