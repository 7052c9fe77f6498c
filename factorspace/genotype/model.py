"""The genotype document: the discrete architecture a search derives, plain and versioned.

``family`` names the cell family (:mod:`factorspace.cells`); absent, it is DARTS's, so every file
written before families existed reads as it did. The family says which cells the document has and
how its nodes are numbered:

- ``darts``: a ``normal`` and a ``reduce`` cell; nodes 0 and 1 are the cell's inputs (c_{k-2},
  c_{k-1}), nodes 2..N+1 the intermediate nodes, two kept edges each, ``none`` never kept;
- ``nb201``: one cell, ``normal`` (NAS-Bench-201's only searched cell; its reductions are fixed
  residual blocks); node 0 is the input, nodes 1..N each sum an edge from every earlier node,
  ``none`` edges included; ``concat`` is ``[N]``, the last node, the cell's output.

Each edge names its operator and the choice of every other factor that applies to that operator
(e.g. ``{"activation": "selu"}``); a factor with a single choice is written too, so a genotype
says everything a network needs.

``format: factorspace.genotype`` is the name of the file format (not a module path).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from factorspace.errors import FieldError
from factorspace.schema.cell import CELL_CONFIGS
from factorspace.schema.space import ArgumentValue, Strict

GENOTYPE_FORMAT = "factorspace.genotype"
GENOTYPE_VERSION = 1
CELL_TYPES = ("normal", "reduce")
"""The cells a genotype document can hold; a family uses some of them (DARTS: both)."""
DEFAULT_FAMILY = "darts"


class GenotypeEdge(Strict):
    source: int = Field(
        ge=0, description="input node (DARTS: 0, 1 = cell inputs, 2.. = intermediate; NB201: 0..)"
    )
    target: int = Field(ge=1, description="the node the edge feeds (DARTS: 2..; NB201: 1..)")
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
    family: str | None = Field(
        None, description="the cell family (factorspace.cells): darts when absent, or nb201"
    )
    name: str | None = None
    source: str | None = Field(None, description="where it comes from: a run, a paper")
    imports: list[GenotypeImport] | None = Field(
        None,
        description="modules to import before building it: those registering its custom "
        "operators and activations (none for the built-in ones)",
    )
    normal: GenotypeCell
    reduce: GenotypeCell | None = Field(None, description="DARTS's reduction cell")

    @model_validator(mode="after")
    def _family_cells(self) -> Genotype:
        # The cells the family has are required, the others refused. Known families only;
        # an unknown name is reported at `family` by the structure check, which knows them all.
        if self.cell_family not in CELL_CONFIGS:
            return self
        wanted = CELL_CONFIGS.get(self.cell_family).cell_types
        for t in CELL_TYPES:
            present = getattr(self, t) is not None
            if t in wanted and not present:
                raise FieldError((t,), "required key is missing")
            if present and t not in wanted:
                raise FieldError(
                    (t,),
                    f"a {self.cell_family} genotype has the cells {', '.join(wanted)}, "
                    f"no {t!r} cell",
                )
        return self

    @property
    def cell_family(self) -> str:
        """The family's name: :attr:`family`, or ``darts`` when the document names none."""
        return self.family or DEFAULT_FAMILY

    @property
    def cell_types(self) -> tuple[str, ...]:
        """The cells this genotype has, in document order (DARTS: normal, reduce)."""
        return tuple(t for t in CELL_TYPES if getattr(self, t) is not None)

    def cells(self) -> dict[str, GenotypeCell]:
        """Cell type -> cell, for the cells this genotype has."""
        return {t: getattr(self, t) for t in self.cell_types}
