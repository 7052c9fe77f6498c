"""Sizes and options of the search supernet, one member per cell family, chosen by ``kind``.

- ``kind: darts`` (the default when ``kind`` is absent): DARTS's ``model_search.Network`` and
  PC-DARTS's options (:class:`SupernetConfig`);
- ``kind: nb201``: NAS-Bench-201's network (:class:`NB201SupernetConfig`), a 3x3 stem, three
  stages of ``cells_per_stage`` cells at C, 2C, 4C channels, residual reductions between them.

A family adds its member with :func:`supernet_member` (see :mod:`factorspace.schema.kinds`).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, SerializeAsAny, StrictBool, StrictInt, WrapValidator, model_validator

from factorspace.errors import FieldError
from factorspace.registry import Registry
from factorspace.schema.kinds import (
    DEFAULT_FAMILY,
    KindMember,
    KindSchema,
    dispatch,
    kind_member,
)
from factorspace.schema.limits import Sizes

EDGE_GROUP = "edge"  # the architecture-parameter group of edge normalisation

JointWeights = Literal["separate", "shared"]
RReLUNoise = Literal["torch", "hashed"]
RRELU_NOISE_HELP = (
    "how the fused mixed activation (fused_activation) draws RReLU's random training slopes: "
    "hashed: a hash of one seed per call (from torch's generator) and each element's position, "
    "computed inside the kernels and again in the backward pass (nothing drawn per element, "
    "nothing kept); torch: torch's rrelu kernel, one Mersenne Twister draw per element, the "
    "numbers autograd's nn.RReLU draws, kept for the backward pass. Both uniform on [lower, "
    "upper); other numbers. Default hashed since 2026-12-07 (a run recorded without the field "
    "resumes with torch, as it ran); no effect with fused_activation false"
)
DEFAULT_JOINT_WEIGHTS: JointWeights = "separate"  # the one default; the compiler reads it too


SUPERNET_CONFIGS: Registry[type[KindMember]] = Registry("supernet family")


def supernet_member(model):
    """Register ``model`` (a ``supernet`` member, ``kind: Literal[name] = name``)."""
    return kind_member(SUPERNET_CONFIGS, model)


@supernet_member
class SupernetConfig(KindMember):
    """DARTS's search network (``model_search.Network``), with PC-DARTS's options."""

    kind: Literal["darts"] = Field(
        "darts",
        exclude_if=lambda kind: kind == DEFAULT_FAMILY,  # dumps as before families existed
        description="the network family: darts (the default; space.cell.kind must match)",
    )
    channels: StrictInt = Field(16, ge=2, description="initial channels C (DARTS search: 16)")
    cells: StrictInt = Field(8, ge=1, description="stacked cells (DARTS search: 8)")
    reduction_cells: list[StrictInt] | None = Field(
        None, description="indices of reduction cells (default: cells//3 and 2*cells//3)"
    )
    stem_multiplier: StrictInt = Field(
        3, ge=1, description="stem outputs stem_multiplier * C channels"
    )
    classes: StrictInt = Field(10, ge=2)
    in_channels: StrictInt = Field(3, ge=1)
    stem: Literal["cifar", "imagenet"] = Field(
        "cifar",
        description="cifar: one 3x3 conv (DARTS); imagenet: three stride-2 3x3 convs, the input "
        "8x smaller at the first cell (PC-DARTS's ImageNet search network)",
    )
    partial_channels: StrictInt = Field(
        1,
        ge=1,
        description="PC-DARTS's K: each edge mixes its first C/K channels, the rest bypass it "
        "(max-pooled on reduction edges), then channel_shuffle(K); 1: off",
    )
    edge_normalization: StrictBool = Field(
        False,
        description="PC-DARTS's edge normalisation: one weight per edge, softmax over each "
        "node's inputs, searched as the architecture group `edge`",
    )
    joint_weights: JointWeights = Field(
        DEFAULT_JOINT_WEIGHTS,
        description="mode joint only (ignored by a factorized space, whose operators are one "
        "module each by construction): separate: every candidate (activation + operator, a "
        "'super-operator') is its own module with its own weights, activation parameters and "
        "BatchNorm, as DARTS over the paper's 40 super-operators (§3); shared: the candidates of "
        "one operator share its module (weights and BatchNorm) and each activation module is "
        "shared by the operators it precedes, the factorized space's weights",
    )

    fused_activation: StrictBool = Field(
        True,
        description="factorized spaces: compute eq. 2's mixed activation with fused forms "
        "(factorspace.ops.fused), compiled into one kernel per direction where a compiler is "
        "available: one tensor kept per edge for the backward pass instead of one per "
        "activation, and faster; values and gradients equal autograd's to rounding, not bit for "
        "bit. Activations without a fused form are computed as before. Default on since "
        "2026-12-06 (a run recorded without the field resumes with it off, as it ran). "
        "search.compile uses the compiled autograd mix instead",
    )
    rrelu_noise: RReLUNoise = Field("hashed", description=RRELU_NOISE_HELP)

    @model_validator(mode="after")
    def _check(self) -> SupernetConfig:
        if self.channels % 2:
            raise FieldError(
                ("channels",), f"must be even (FactorizedReduce halves it): {self.channels}"
            )
        k = self.partial_channels
        if self.channels % k:
            raise FieldError(
                ("partial_channels",),
                f"K={k} must divide channels={self.channels}: an edge mixes channels/K of them; "
                f"set channels to a multiple of {k} or change partial_channels",
            )
        for i, r in enumerate(self.reduction_cells or []):
            if not 0 <= r < self.cells:
                raise FieldError(
                    ("reduction_cells", i), f"{r} is not a cell index 0..{self.cells - 1}"
                )
        return self

    @property
    def reductions(self) -> list[int]:
        """DARTS convention: reductions at 1/3 and 2/3 of the depth."""
        if self.reduction_cells is not None:
            return sorted(set(self.reduction_cells))
        return sorted({self.cells // 3, 2 * self.cells // 3})

    @property
    def input_divisor(self) -> int:
        """Image sides must be multiples of this: the stem and each reduction halve them."""
        stem_halvings = 3 if self.stem == "imagenet" else 0
        return 2 ** (stem_halvings + len(self.reductions))

    @property
    def searched_cells(self) -> int:
        """The cells that carry architecture weights."""
        return self.cells

    def estimate_sizes(self, recipe) -> Sizes:
        """The sizes the memory estimate of ``recipe``'s search reads (``schema.limits``)."""
        return Sizes(
            channels=self.channels,
            cells=self.cells,
            nodes=recipe.space.cell.nodes,
            image_size=recipe.data.image_size,
            batch_size=recipe.search.batch_size,
            reductions=tuple(self.reductions),
            stem_halvings=3 if self.stem == "imagenet" else 0,
            stem_multiplier=self.stem_multiplier,
            partial_channels=self.partial_channels,
            classes=self.classes,
        )

    def input_divisor_reason(self) -> str:
        """Why images must be multiples of :attr:`input_divisor` (for the error message)."""
        return f"supernet.stem={self.stem!r}, {len(self.reductions)} reduction cells"


@supernet_member
class NB201SupernetConfig(KindMember):
    """NAS-Bench-201's search network (xautodl's ``TinyNetworkDarts``/``TinyNetworkGDAS``).

    BatchNorm in the searched cells is non-affine (as every DARTS-style supernet) and, by
    default, uses the batch's statistics also at evaluation (``track_running_stats: false``): the
    defaults of the benchmark authors' search script (AutoDL-Projects,
    ``exps/NATS-algos/search-cell.py``: ``--affine 0 --track_running_stats 0``), whose NB201 runs
    (DARTS, GDAS, ...) the published numbers come from. The stem, the residual blocks and the last
    BatchNorm are affine with running statistics, as theirs.
    """

    kind: Literal["nb201"] = Field(
        "nb201", description="the network family: nb201 (space.cell.kind must be nb201)"
    )
    channels: StrictInt = Field(
        16, ge=1, description="channels C of the first stage (NAS-Bench-201: 16)"
    )
    cells_per_stage: StrictInt = Field(
        5, ge=1, description="cells N in each of the three stages (NAS-Bench-201: 5)"
    )
    classes: StrictInt = Field(10, ge=2)
    in_channels: StrictInt = Field(3, ge=1)
    track_running_stats: StrictBool = Field(
        False,
        description="the searched cells' BatchNorm keeps running statistics for evaluation; "
        "false: batch statistics always (the benchmark authors' search default)",
    )
    joint_weights: JointWeights = Field(
        DEFAULT_JOINT_WEIGHTS,
        description="mode joint only: separate (each candidate its own module, as the "
        "benchmark's supernet) or shared (see the darts member)",
    )
    fused_activation: StrictBool = Field(
        True, description="spaces with an input-role factor: eq. 2's fused mixed activation"
    )
    rrelu_noise: RReLUNoise = Field("hashed", description=RRELU_NOISE_HELP)

    STAGES: ClassVar[int] = (
        3  # the benchmark's network: three stages, two residual reductions between them
    )

    @property
    def searched_cells(self) -> int:
        return self.STAGES * self.cells_per_stage

    @property
    def cells(self) -> int:
        """The searched cells, as a search's header prints them."""
        return self.searched_cells

    @property
    def reductions(self) -> list[int]:
        """No searched cell reduces: the reductions are residual blocks between the stages."""
        return []

    edge_normalization: ClassVar[bool] = False  # PC-DARTS's options are the darts member's
    partial_channels: ClassVar[int] = 1

    @property
    def input_divisor(self) -> int:
        """Image sides must be multiples of 4: two stride-2 residual blocks halve them."""
        return 2 ** (self.STAGES - 1)

    def input_divisor_reason(self) -> str:
        return f"{self.STAGES - 1} stride-2 residual blocks between the stages"

    SIZE_REFERENCE: ClassVar[dict] = {  # the usual sizes: the benchmark's search (C16, N5)
        "channels": (("supernet", "channels"), 16),
        "cells": (("supernet", "cells_per_stage"), 15),  # the estimate counts all 3 N cells
        "image_size": (("data", "image_size"), 32),
        "batch_size": (("search", "batch_size"), 64),
        "classes": (("supernet", "classes"), 10),
    }

    def estimate_sizes(self, recipe) -> Sizes:
        """The benchmark's network in the memory estimate's terms: ``3 N`` cells of
        ``nodes (nodes + 1) / 2`` edges, the channels doubling after each stage (the residual
        blocks counted as no cells)."""
        nodes, n = recipe.space.cell.nodes, self.cells_per_stage
        return Sizes(
            channels=self.channels,
            cells=self.searched_cells,
            nodes=nodes - 1,  # the estimate counts nodes + 2 states per cell; a cell has nodes + 1
            edges=nodes * (nodes + 1) // 2,
            image_size=recipe.data.image_size,
            batch_size=recipe.search.batch_size,
            reductions=(n, 2 * n),
            stem_halvings=0,
            stem_multiplier=1,
            partial_channels=1,
            classes=self.classes,
        )


AnySupernet = Annotated[
    SerializeAsAny[SupernetConfig | NB201SupernetConfig],
    WrapValidator(dispatch(SUPERNET_CONFIGS, "supernet family")),
    KindSchema("darts", "nb201"),
]
"""A ``supernet`` value; the JSON Schema shows the shipped members."""
