"""What a recipe may cost before it starts: a memory estimate refused above ``limits.memory``.

The estimate is arithmetic on the recipe (no torch, milliseconds for any size), so ``validate``
refuses a supernet that would need terabytes before the allocator fails. It counts, for one
search step in fp32, the outputs every computed candidate keeps for the backward pass (about
:data:`TENSORS_PER_CANDIDATE` tensors of the edge's size) over the batch, the cells' inputs and
nodes, and the weights with their gradients and SGD momentum. It is an order of magnitude, not a
measurement: ``factorspace space`` measures one image's activations with a forward pass.

A train recipe has no genotype, so its estimate assumes DARTS's cell (4 nodes of 2 edges, each
a sep_conv, the operator that keeps the most: :data:`TENSORS_PER_TRAIN_EDGE`) at the network's
channels, cells, batch and image size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from pydantic import ByteSize, Field

from factorspace.errors import FieldError
from factorspace.registry import OPERATORS
from factorspace.schema.space import ArgumentFactor, InputFactor, SpaceConfig, Strict
from factorspace.schema.space import applicable_operators as _applicable

DEFAULT_MEMORY = 128 * 2**30  # 128 GiB: about one H200 (141 GB); one --set raises it
TENSORS_PER_CANDIDATE = 3  # leaf outputs per computed operator: a sep_conv keeps 7, a pool 1
TENSORS_PER_TRAIN_EDGE = 8  # a sep_conv: two (ReLU, depthwise, pointwise, BN) stacks
TRAIN_WEIGHTS_PER_EDGE = 2  # a sep_conv's weights: two pointwise C x C convs (depthwise: small)
TRAIN_NODES, TRAIN_EDGES = 4, 8  # DARTS's cell: 4 intermediate nodes, 2 inputs each
BYTES_PER_WEIGHT = 12  # fp32 weight, gradient and SGD momentum
FLOAT_BYTES = 4


class LimitsConfig(Strict):
    """Bounds that refuse a recipe before it allocates what no machine has."""

    memory: ByteSize = Field(
        ByteSize(DEFAULT_MEMORY),
        description="refuse a run whose estimated memory (the network's weights and one batch's "
        "activations, fp32, summed over a torchrun's processes: the batch is global; a search's "
        "supernet, a re-training's DARTS-shaped network) is above "
        "this; bytes or a size such as 64GiB or 200GB (default 128 GiB; "
        "`--set limits.memory=400GiB` raises it)",
    )


@dataclass(frozen=True)
class Sizes:
    """The recipe fields the estimate reads; each may be what drives it."""

    channels: int
    cells: int
    nodes: int
    image_size: int
    batch_size: int
    reductions: tuple[int, ...]
    stem_halvings: int
    stem_multiplier: int
    partial_channels: int
    classes: int
    edges: int | None = None  # edges per cell; None: the supernet's, every pair (DARTS)
    weights_per_edge: int | None = None  # C x C weights per edge; None: one per kept tensor


def tensors_per_edge(space: SpaceConfig) -> int:
    """Tensors an edge keeps for the backward pass, per channel and pixel: those of each module
    it computes: each non-zero operator once per combination of its argument
    factors' choices, times its input factors' in the joint mode (every candidate its own
    module); the factorized mode computes each input transform once instead (eq. 2)."""
    op_factor = space.operator
    joint = space.mode == "joint"
    per_op = {op: 1 for op in op_factor.choices if "zero" not in OPERATORS.get(op).tags}
    transforms = 0
    for f in space.factors:
        if isinstance(f, ArgumentFactor) or (joint and isinstance(f, InputFactor)):
            for op in _applicable(f, op_factor):
                per_op[op] *= len(f.choices)
        elif isinstance(f, InputFactor):
            transforms += len(f.choices)
    return max(1, sum(per_op.values()) * TENSORS_PER_CANDIDATE + transforms)


def memory_bytes(sizes: Sizes, per_edge: int) -> int:
    """Estimated bytes of one fp32 search step (see the module docstring); ``per_edge`` is
    :func:`tensors_per_edge`."""
    edges = _edges(sizes)
    activations = sizes.stem_multiplier * sizes.channels * sizes.image_size**2  # the stem's output
    for n, c, mixed, pixels in _segments(sizes):
        activations += n * edges * (per_edge * mixed + c) * pixels
        activations += n * (sizes.nodes + 2) * c * pixels  # the preprocessed inputs and nodes
    total = sizes.batch_size * activations * FLOAT_BYTES + _weight_bytes(sizes, per_edge)
    return int(min(total, 2**80))  # a number, however absurd the sizes


def evaluation_bytes(sizes: Sizes, per_edge: int) -> int:
    """Estimated bytes of a no-grad fp32 evaluation batch of ``sizes.batch_size`` images
    (an ``eval_batch_size``): nothing is kept for a backward pass, so at most the widest
    cell's inputs and nodes and one edge's candidates are alive at once, beside the weights."""
    stem = sizes.stem_multiplier * sizes.channels * sizes.image_size**2
    live = max(((sizes.nodes + 2) * c + per_edge * mixed) * pixels
               for _, c, mixed, pixels in _segments(sizes))  # fmt: skip
    total = sizes.batch_size * max(stem, live) * FLOAT_BYTES + _weight_bytes(sizes, per_edge)
    return int(min(total, 2**80))


def _edges(sizes: Sizes) -> int:
    return sizes.edges or 2 * sizes.nodes + sizes.nodes * (sizes.nodes - 1) // 2


def _segments(sizes: Sizes):
    """``(cells, channels, mixed channels, pixels)`` of each run of cells between reductions:
    cells between two reductions cost the same, so the estimate takes as long for a billion
    cells as for eight."""
    side = sizes.image_size / 2**sizes.stem_halvings
    c = sizes.channels
    cuts = sorted({r for r in sizes.reductions if 0 <= r < sizes.cells})
    starts = [0, *cuts]
    for k, start in enumerate(starts):
        if k > 0:
            c, side = c * 2, side / 2
        n = (cuts[k] if k < len(cuts) else sizes.cells) - start
        yield n, c, c / sizes.partial_channels, side * side


def _weight_bytes(sizes: Sizes, per_edge: int) -> float:
    """The weights with their gradients and SGD momentum."""
    segments, weights = list(_segments(sizes)), 0
    for n, _, mixed, _ in segments:
        weights += n * _edges(sizes) * (sizes.weights_per_edge or per_edge) * mixed * mixed
    weights += sizes.nodes * segments[-1][1] * sizes.classes  # the classifier on the last cell
    return weights * BYTES_PER_WEIGHT


def train_sizes(
    channels: int, cells: int, image_size: int, batch_size: int, classes: int, imagenet: bool
) -> Sizes:
    """The sizes of a re-trained network of DARTS's cell (``retrain.network``: reductions at
    1/3 and 2/3 of the depth; the ImageNet stem halves the input three times)."""
    return Sizes(
        channels=channels,
        cells=cells,
        nodes=TRAIN_NODES,
        edges=TRAIN_EDGES,
        weights_per_edge=TRAIN_WEIGHTS_PER_EDGE,
        image_size=image_size,
        batch_size=batch_size,
        reductions=(cells // 3, 2 * cells // 3),
        stem_halvings=3 if imagenet else 0,
        stem_multiplier=1 if imagenet else 3,
        partial_channels=1,
        classes=classes,
    )


Reference = dict[str, tuple[tuple[str, ...], int]]
"""Size name -> (its field in the recipe, a usual value): what :func:`memory_driver` compares."""


def memory_driver(sizes: Sizes, per_edge: int, reference: Reference) -> tuple[str, ...]:
    """The field whose usual value would shrink the estimate most; ``("space", "factors")``
    when no size is above its usual value (the candidates per edge drive it)."""
    need = memory_bytes(sizes, per_edge)
    best, saved = ("space", "factors"), 0
    for name, (loc, usual) in reference.items():
        if getattr(sizes, name) <= usual:
            continue
        smaller = memory_bytes(replace(sizes, **{name: usual}), per_edge)
        if need - smaller > saved:
            best, saved = loc, need - smaller
    return best


def check_memory(
    sizes: Sizes,
    per_edge: int,
    limit: int,
    reference: Reference,
    what: str,
    remedy: str = " or raise the limit with --set limits.memory=...",
) -> None:
    """Raise a :class:`FieldError` at the field that drives the estimate when it is above
    ``limit``; ``what`` says what the estimate counts, ``remedy`` ends the message."""
    need = memory_bytes(sizes, per_edge)
    if need <= limit:
        return
    field = memory_driver(sizes, per_edge, reference)
    names = {loc: name for name, (loc, _) in reference.items()}
    value = f" ({getattr(sizes, names[field])})" if field in names else ""
    raise FieldError(
        field,
        f"{what} needs about {human(need)} ({_counted(what)}; {per_edge} tensors per edge and "
        f"channel), above limits.memory = {human(limit)}; reduce {'.'.join(field)}{value}{remedy}",
    )


def check_evaluation_batch(sizes: Sizes, per_edge: int, limit: int, field: tuple[str, ...]) -> None:
    """Raise a :class:`FieldError` at ``field`` (an ``eval_batch_size``) when a no-grad batch of
    ``sizes.batch_size`` images is estimated above ``limit`` (:func:`evaluation_bytes`)."""
    need = evaluation_bytes(sizes, per_edge)
    if need > limit:
        name = ".".join(field)
        raise FieldError(
            field,
            f"{sizes.batch_size} images per evaluation batch need about {human(need)} (weights "
            f"and one no-grad batch's live activations, fp32), above limits.memory = "
            f"{human(limit)}; reduce {name} or raise the limit with --set limits.memory=...",
        )


def _counted(what: str) -> str:
    if what == "the search":
        return "supernet weights and one batch's activations, fp32"
    return f"weights and one batch's activations, fp32, with DARTS's cell of {TRAIN_EDGES} edges"


def human(n: float) -> str:
    """Bytes as a short size: 1.5 TiB."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    power = min(int(math.log(max(n, 1), 1024)), len(units) - 1)
    return f"{n / 1024**power:.3g} {units[power]}"
