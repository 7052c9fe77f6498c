"""A genotype drawn uniformly from a space: the planted architecture's right answer.

Each cell, each intermediate node keeps ``cell.keep`` of its inputs (a uniform subset), and each
kept edge takes a uniform non-zero operator and, for every other factor that applies to that
operator, a uniform choice: the distribution the chance levels of :mod:`.score` assume.
"""

from __future__ import annotations

import random

from factorspace.genotype import CELL_TYPES, Genotype, GenotypeCell, GenotypeEdge
from factorspace.space import Space


def draw_genotype(space: Space, seed: int, *, name: str | None = None) -> Genotype:
    """A uniform random genotype of ``space`` (the same for the same seed and space)."""
    rng = random.Random(seed)
    cells = {t: _draw_cell(space, rng) for t in CELL_TYPES}
    return Genotype(name=name, source=f"drawn uniformly, seed {seed}", **cells)


def non_zero_operators(space: Space) -> list[str]:
    """The operator choices a kept edge can take (all but the zero-tagged ``none``)."""
    return [op for op in space.config.operator.choices if not space.candidates_of(op)[0].is_zero]


def _draw_cell(space: Space, rng: random.Random) -> GenotypeCell:
    operators = non_zero_operators(space)
    edges = []
    for node in range(2, space.nodes + 2):
        for source in sorted(rng.sample(range(node), space.keep)):
            op = rng.choice(operators)
            inputs = {f.name: rng.choice(f.choices) for f in space.input_factors(op)}
            arguments = {f.argument: rng.choice(f.choices) for f in space.argument_factors(op)}
            edges.append(
                GenotypeEdge(source=source, target=node, op=op, inputs=inputs, arguments=arguments)
            )
    return GenotypeCell(edges=edges, concat=list(range(2, space.nodes + 2)))
