"""The genotype document: the discrete architecture a search derives, plain and versioned.

Node numbering follows DARTS: nodes 0 and 1 are the cell's inputs (c_{k-2}, c_{k-1}), nodes
2..N+1 the intermediate nodes. Each kept edge names its operator and the choice of every other
factor that applies to that operator (e.g. ``{"activation": "selu"}``); a factor with a single
choice is written too, so a genotype says everything a network needs.

``format: factorspace.genotype`` is the name of the file format (not a module path).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from factorspace.schema.space import ArgumentValue, Strict

GENOTYPE_FORMAT = "factorspace.genotype"
GENOTYPE_VERSION = 1
CELL_TYPES = ("normal", "reduce")


class GenotypeEdge(Strict):
    source: int = Field(ge=0, description="input node: 0, 1 = cell inputs; 2.. = intermediate")
    target: int = Field(ge=2, description="intermediate node the edge feeds")
    op: str = Field(description="operator choice")
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="input-role factor -> activation, applied in this order before the operator",
    )
    arguments: dict[str, ArgumentValue] = Field(
        default_factory=dict, description="constructor keyword -> value (argument-role factors)"
    )


class GenotypeCell(Strict):
    edges: list[GenotypeEdge]
    concat: list[int] = Field(description="nodes concatenated into the cell's output")
    darts_concat_style: Literal["list", "range"] | None = Field(
        None,
        description="how the DARTS string this cell came from wrote `concat` ([2, 3, 4, 5] or "
        "range(2, 6)), so that exporting reproduces it",
    )


class GenotypeImport(Strict):
    """A module that registers some of the genotype's operators or activations."""

    module: str = Field(description="its dotted name, e.g. my_ops")
    folder: str | None = Field(
        None, description="the folder it was imported from; tried after sys.path"
    )


class Genotype(Strict):
    format: Literal["factorspace.genotype"] = GENOTYPE_FORMAT
    version: Literal[1] = GENOTYPE_VERSION
    name: str | None = None
    source: str | None = Field(None, description="where it comes from: a run, a paper")
    imports: list[GenotypeImport] | None = Field(
        None,
        description="modules to import before building it: those registering its custom "
        "operators and activations (none for the built-in ones)",
    )
    normal: GenotypeCell
    reduce: GenotypeCell
