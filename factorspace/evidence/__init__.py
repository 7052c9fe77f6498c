"""Evidence that the search works: a planted-architecture benchmark.

``plant(recipe, seeds)`` draws a genotype from the recipe's space, labels images with a network of
that genotype (random weights), searches the space on those labels and scores how much of the
planted genotype the derived one recovers, factor by factor, beside chance (docs/evidence.md).
"""

from factorspace.evidence.draw import draw_genotype
from factorspace.evidence.plant import PlantResult, SeedResult, plant
from factorspace.evidence.score import FactorScore, chance_levels, edge_picks, score_genotype

__all__ = [
    "FactorScore",
    "PlantResult",
    "SeedResult",
    "chance_levels",
    "draw_genotype",
    "edge_picks",
    "plant",
    "score_genotype",
]
