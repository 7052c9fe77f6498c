"""A genotype's nodes and edges as people read them: one numbering for every picture and line.

Genotype files number a cell's nodes as DARTS's code does (0 and 1 the inputs, 2, 3, ... the
intermediate nodes). Everything a person reads (the cell drawings, the report, the search's
console and ``run.log``) names them as the DARTS paper's figures do (Liu et al. 2019, Fig. 4-5):
inputs c_{k-2} and c_{k-1}, intermediate nodes 0, 1, ..., output c_{k}.
"""

from __future__ import annotations

INPUT_NAMES = ("c_{k-2}", "c_{k-1}")
OUTPUT_NAME = "c_{k}"


def node_name(node: int, family: str = "darts") -> str:
    """A cell's node in DARTS numbering (0, 1 = the inputs) as drawn: c_{k-2}, c_{k-1}, 0, 1...;
    any other family's nodes keep their numbers (NAS-Bench-201: 0 the input, as its strings)."""
    if family != "darts":
        return str(node)
    return INPUT_NAMES[node] if node < 2 else str(node - 2)


def edge_text(edge, family: str = "darts") -> str:
    """A genotype edge on one line: ``c_{k-1}->1 dil_conv_3x3·prelu`` (arguments, then inputs)."""
    choices = (*edge.arguments.values(), *edge.inputs.values())
    source, target = node_name(edge.source, family), node_name(edge.target, family)
    return f"{source}->{target} {edge.op}" + "".join(f"·{v}" for v in choices)


def cell_text(genotype, cell: str = "normal") -> str:
    """A genotype's cell on one line (the search's console, run.log, summaries); ``""`` for a
    cell the genotype does not have (an nb201 genotype has no ``reduce``)."""
    spec = getattr(genotype, cell)
    if spec is None:
        return ""
    return ", ".join(edge_text(e, genotype.cell_family) for e in spec.edges)
