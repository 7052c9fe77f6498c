"""Re-trained networks: DARTS's evaluation models (``cnn/model.py``) built from a genotype.

Conventions kept exactly (Liu et al. 2019): a cell's inputs are preprocessed by FactorizedReduce
(after a reduction) or ReLU-1x1conv-BN, affine; edges from the two inputs of a reduction cell have
stride 2; a node is the sum of its edges; drop path (one Bernoulli draw per sample, scaled by
1/keep) hits every edge but an identity, in training only; reductions at 1/3 and 2/3 of the depth;
the auxiliary tower reads the output of cell ``2 * cells // 3``. With a DARTS genotype (ReLU on
every parameterized edge) the networks are DARTS's, parameter for parameter.

Differences: every ReLU is out of place (DARTS's in-place ReLU in the auxiliary head rewrote the
cell output it reads); ImageNet pools adaptively (DARTS's ``AvgPool2d(7)`` is the same at 224x224).

Output convention: ``forward`` returns the logits, except in training with an auxiliary head, where
it returns ``(logits, logits_aux)`` (torchvision's Inception does the same). ``drop_path_prob`` is
an attribute the training loop schedules (DARTS: ``drop_path * epoch / epochs``).

The module classes use torch only, so that :mod:`factorspace.retrain.export` can copy them into a
standalone file; building from a genotype (the registry) is in :func:`genotype_cell`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from torch import nn

from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype, GenotypeEdge, check_buildable, resolve_genotype
from factorspace.ops import BatchNorm2d, FactorizedReduce, ReLUConvBN, cat_channels
from factorspace.registry import ACTIVATIONS, OPERATORS
from factorspace.schema.kinds import get_family
from factorspace.schema.train import NetworkConfig


def drop_path(x: torch.Tensor, prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``prob``, scale the rest by ``1 / (1 - prob)``."""
    keep = 1.0 - prob
    mask = torch.empty(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x / keep * mask


class Edge(nn.Module):
    """One kept edge: its input transforms in order (``inputs``), then its operator (``op``)."""

    def __init__(self, source: int, target: int, inputs: dict[str, nn.Module], op: nn.Module):
        super().__init__()
        self.source, self.target = source, target
        self.inputs = nn.ModuleDict(inputs)
        self.op = op
        self.identity = isinstance(op, nn.Identity) and not inputs  # DARTS never drops these

    def forward(self, x: torch.Tensor, drop_prob: float) -> torch.Tensor:
        for transform in self.inputs.values():
            x = transform(x)
        x = self.op(x)
        if self.training and drop_prob > 0.0 and not self.identity:
            x = drop_path(x, drop_prob)
        return x


class Cell(nn.Module):
    """A DARTS cell of given edges; outputs the concat of the nodes in ``concat``."""

    def __init__(
        self,
        edges: list[Edge],
        concat: list[int],
        c_pp: int,
        c_p: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(c_pp, c)
        else:
            self.preprocess0 = ReLUConvBN(c_pp, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0)
        self.edges = nn.ModuleList(edges)
        nodes = max(e.target for e in edges) - 1
        self.node_edges = [
            [i for i, e in enumerate(edges) if e.target == n] for n in range(2, 2 + nodes)
        ]
        self.concat = list(concat)
        self.multiplier = len(concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for indices in self.node_edges:
            node = None
            for i in indices:
                h = self.edges[i](states[self.edges[i].source], drop_prob)
                node = h if node is None else node + h
            states.append(node)
        return cat_channels([states[i] for i in self.concat])


CellFactory = Callable[[int, int, int, bool, bool], Cell]
"""``(c_pp, c_p, c, reduction, reduction_prev) -> Cell``: DARTS's ``Cell`` signature, less the genotype."""


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS's auxiliary classifier on an 8x8 feature map."""

    def __init__(self, c: int, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8x8 -> 2x2
            nn.Conv2d(c, 128, 1, bias=False),
            BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 768, 2, bias=False),
            BatchNorm2d(768),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryHeadImageNet(nn.Module):
    """DARTS's auxiliary classifier on the 7x7 map after the last reduction (at 224x224).

    Without a BatchNorm after the 768-channel conv, as in DARTS's published ImageNet models.
    """

    def __init__(self, c: int, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(),
            nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),  # 7x7 -> 2x2
            nn.Conv2d(c, 128, 1, bias=False),
            BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class _Network(nn.Module):
    """What both networks share: the stacked cells, the auxiliary head, pooling and classifier."""

    def _build_body(
        self,
        make_cell: CellFactory,
        c_stem: int,
        channels: int,
        cells: int,
        classes: int,
        reduction_prev: bool,
        auxiliary_head: type[nn.Module] | None,
    ) -> None:
        self.aux_index = 2 * cells // 3
        c_pp, c_p, c = c_stem, c_stem, channels
        self.cells = nn.ModuleList()
        for i in range(cells):
            reduction = i in (cells // 3, 2 * cells // 3)
            if reduction:
                c *= 2
            cell = make_cell(c_pp, c_p, c, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c
            if i == self.aux_index:
                c_aux = c_p
        self.auxiliary_head = auxiliary_head(c_aux, classes) if auxiliary_head else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, classes)

    def _forward_body(self, s0: torch.Tensor, s1: torch.Tensor):
        logits_aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                logits_aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits if logits_aux is None else (logits, logits_aux)


class NetworkCIFAR(_Network):
    """DARTS's CIFAR network: a 3x3 conv stem of ``3 * channels``, then ``cells`` cells."""

    def __init__(
        self,
        make_cell: CellFactory,
        channels: int,
        cells: int,
        classes: int,
        auxiliary: bool = True,
        drop_path_prob: float = 0.0,
    ) -> None:
        super().__init__()
        self.drop_path_prob = drop_path_prob
        c_stem = 3 * channels
        self.stem = nn.Sequential(
            nn.Conv2d(3, c_stem, 3, padding=1, bias=False), BatchNorm2d(c_stem)
        )
        head = AuxiliaryHeadCIFAR if auxiliary else None
        self._build_body(make_cell, c_stem, channels, cells, classes, False, head)

    def forward(self, x: torch.Tensor):
        s = self.stem(x)
        return self._forward_body(s, s)


class NetworkImageNet(_Network):
    """DARTS's ImageNet network: three stride-2 3x3 convs (224 -> 28), then ``cells`` cells."""

    def __init__(
        self,
        make_cell: CellFactory,
        channels: int,
        cells: int,
        classes: int,
        auxiliary: bool = True,
        drop_path_prob: float = 0.0,
    ) -> None:
        super().__init__()
        self.drop_path_prob = drop_path_prob
        c = channels
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, c // 2, 3, stride=2, padding=1, bias=False),
            BatchNorm2d(c // 2),
            nn.ReLU(),
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False),
            BatchNorm2d(c),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(), nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False), BatchNorm2d(c)
        )
        head = AuxiliaryHeadImageNet if auxiliary else None
        self._build_body(make_cell, c, channels, cells, classes, True, head)

    def forward(self, x: torch.Tensor):
        s0 = self.stem0(x)
        return self._forward_body(s0, self.stem1(s0))


def build_edge(edge: GenotypeEdge, channels: int, stride: int) -> Edge:
    """The edge's activations (one instance each) and operator, from the registries."""
    inputs = {factor: ACTIVATIONS.get(name).build(channels) for factor, name in edge.inputs.items()}
    op = OPERATORS.get(edge.op).build(channels, stride, True, **edge.arguments)
    return Edge(edge.source, edge.target, inputs, op)


def genotype_cell(
    genotype: Genotype, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool
) -> Cell:
    """The genotype's normal or reduction cell at ``c`` channels (a :data:`CellFactory`)."""
    spec = genotype.reduce if reduction else genotype.normal
    edges = [build_edge(e, c, 2 if reduction and e.source < 2 else 1) for e in spec.edges]
    return Cell(edges, spec.concat, c_pp, c_p, c, reduction, reduction_prev)


def build_network(genotype: Genotype, config: NetworkConfig) -> NetworkCIFAR | NetworkImageNet:
    """The network of ``genotype`` at ``config``'s sizes (CPU, freshly initialised): DARTS's
    evaluation network (a re-training recipe's ``network``).

    Raises:
        RecipeError: naming the field of a genotype no network can be built from (the one
            structure check, :func:`~factorspace.genotype.check.check_buildable`).
        FactorspaceError: for a genotype of another cell family (NAS-Bench-201's cells are not
            re-trained: the benchmark's table has their accuracy; ``create_model`` builds them).
    """
    if genotype.cell_family != "darts":
        raise FactorspaceError(
            f"a {genotype.cell_family} genotype: re-training recipes build DARTS's network; "
            "a NAS-Bench-201 cell's trained accuracy is in the benchmark's table "
            "(factorspace nb201), and create_model(genotype) builds its network"
        )
    return build_darts_network(genotype, config)


def build_darts_network(
    genotype: Genotype, config: NetworkConfig
) -> NetworkCIFAR | NetworkImageNet:
    """DARTS's evaluation network of ``genotype`` (the darts family's fixed network)."""
    check_buildable(genotype)
    network = NetworkCIFAR if config.dataset == "cifar10" else NetworkImageNet
    return network(
        partial(genotype_cell, genotype),
        config.channels,
        config.cells,
        config.classes,
        config.auxiliary,
        config.drop_path,
    )


def create_model(
    genotype: Genotype | str | Path, dataset: str = "cifar10", **overrides: object
) -> nn.Module:
    """Build DARTS's evaluation network for ``genotype`` (a NAS-Bench-201 genotype: the
    benchmark's network, ``overrides`` ``channels``, ``cells_per_stage``, ``classes``).

    Args:
        genotype: a :class:`~factorspace.genotype.Genotype`, a genotype file, a run directory
            or a name in :mod:`factorspace.genotype.zoo` (e.g. ``"DARTS_V2"``); see
            :func:`~factorspace.genotype.resolve_genotype`.
        dataset: ``"cifar10"`` or ``"imagenet"``: the stem, the heads and the default sizes.
        **overrides: any :class:`~factorspace.schema.train.NetworkConfig` field (``channels``,
            ``cells``, ``classes``, ``auxiliary``, ``drop_path``...).

    Returns:
        A plain ``nn.Module``: ``model(images)`` gives logits, or ``(logits, logits_aux)`` in
        training with the auxiliary head; ``model.drop_path_prob`` is the current drop path.

    Raises:
        pydantic.ValidationError: an unknown or out-of-range size.
        FactorspaceError: an unknown zoo name, or a genotype no network can be built from
            (a malformed cell, an unregistered operator or activation), naming the field.

    Example:
        >>> model = create_model(genotype, "cifar10", channels=16, cells=8)
        >>> model.eval()(torch.randn(1, 3, 32, 32)).shape
        torch.Size([1, 10])
    """
    resolved = resolve_genotype(genotype, registered=True)
    if resolved.cell_family != "darts":  # e.g. nb201: channels, cells_per_stage, classes
        return get_family(resolved.cell_family).build_network(resolved, **overrides)
    config = NetworkConfig(dataset=dataset, **overrides)
    return build_network(resolved, config)
