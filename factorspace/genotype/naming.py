"""A genotype's nodes and edges as people read them: one numbering for every picture and line.

Genotype files number a cell's nodes as DARTS's code does (0 and 1 the inputs, 2, 3, ... the
intermediate nodes). Everything a person reads (the cell drawings, the report, the search's
console and ``run.log``) names them as the DARTS paper's figures do (Liu et al. 2019, Fig. 4-5):
inputs c_{k-2} and c_{k-1}, intermediate nodes 0, 1, ..., output c_{k}.
"""

from __future__ import annotations

INPUT_NAMES = ("c_{k-2}", "c_{k-1}")
OUTPUT_NAME = "c_{k}"


def node_name(node: int) -> str:
    """A cell's node in DARTS numbering (0, 1 = the inputs) as drawn: c_{k-2}, c_{k-1}, 0, 1..."""
    return INPUT_NAMES[node] if node < 2 else str(node - 2)


def edge_text(edge) -> str:
    """A genotype edge on one line: ``c_{k-1}->1 dil_conv_3x3·prelu`` (arguments, then inputs)."""
    choices = (*edge.arguments.values(), *edge.inputs.values())
    return f"{node_name(edge.source)}->{node_name(edge.target)} {edge.op}" + "".join(
        f"·{v}" for v in choices
    )


def cell_text(genotype, cell: str = "normal") -> str:
    """A genotype's cell on one line (the search's console, run.log, summaries)."""
    return ", ".join(edge_text(e) for e in getattr(genotype, cell).edges)
