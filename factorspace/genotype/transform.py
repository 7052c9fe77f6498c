"""New genotypes from old: the same cells with one factor's choice replaced everywhere.

Table 2 of the paper re-trains the factorized search's genotype "with ReLU" and "with SELU":
the searched operators and edges are kept and every searched activation is replaced by one
fixed activation. :func:`with_input` does that for any input-role factor.
"""

from __future__ import annotations

from factorspace.errors import FactorspaceError
from factorspace.genotype.model import Genotype
from factorspace.registry import ACTIVATIONS
from factorspace.schema.space import did_you_mean


def with_input(genotype: Genotype, choice: str, factor: str = "activation") -> Genotype:
    """``genotype`` with ``factor``'s choice set to ``choice`` on every edge that has it.

    Edges without that input factor (pooling, skip-connect: the paper's activations apply to
    parameterized operators only) are left as they are. The name and source record the change.

    Raises:
        FactorspaceError: ``choice`` is not a registered activation, or no edge has ``factor``.
    """
    if choice not in ACTIVATIONS:
        raise FactorspaceError(
            f"{choice!r} is not a registered activation{did_you_mean(choice, ACTIVATIONS.names())}"
        )
    edges = [e for cell in genotype.cells().values() for e in cell.edges]
    if not any(factor in e.inputs for e in edges):
        found = sorted({f for e in edges for f in e.inputs})
        raise FactorspaceError(
            f"no edge has the input factor {factor!r} (the genotype's input factors: "
            f"{', '.join(found) or 'none'})"
        )
    cells = {
        t: getattr(genotype, t).model_copy(
            update={
                "edges": [
                    e.model_copy(update={"inputs": {**e.inputs, factor: choice}})
                    if factor in e.inputs
                    else e
                    for e in getattr(genotype, t).edges
                ]
            }
        )
        for t in genotype.cell_types
    }
    name = f"{genotype.name or 'genotype'}-{factor}-{choice}"
    source = f"{genotype.source or 'a genotype'}, every {factor} set to {choice}"
    return genotype.model_copy(update={**cells, "name": name, "source": source})
