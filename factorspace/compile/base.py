"""What every search supernet shares, whatever its cell family: the architecture parameters.

One tensor per architecture group per cell type (``arch[cell_type][group]``, edges x choices,
``1e-3 * randn`` as DARTS), kept apart from the weights; each group's relaxation
(:mod:`factorspace.relax`) turns them into the forward weights (:meth:`SupernetBase.forward_weights`),
the probabilities derivation and the records read (:meth:`SupernetBase.arch_probabilities`), an
optional architecture-loss term and a per-epoch schedule. The cell types are the family's
(:attr:`factorspace.cells.CellFamily.cell_types`: DARTS normal and reduce, NB201 one).

A family's supernet subclasses :class:`SupernetBase`, builds its modules, then calls
:meth:`SupernetBase.init_arch` (after its modules, so that a family's random initialisation
order stays its own) and defines ``forward(images) -> logits``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from factorspace.compile.edge import FactorizedEdge, _MixedEdge, add_all, mix
from factorspace.compile.partial import PartialEdge
from factorspace.errors import FactorspaceError
from factorspace.relax import ForwardWeights, Relaxation, build_relaxations
from factorspace.schema.relaxation import SoftmaxConfig
from factorspace.space import Space


class SupernetBase(nn.Module):
    """``arch_parameters()`` groups the architecture by factor; ``weight_parameters()`` is the rest."""

    def __init__(self, space: Space, config, relaxations: dict[str, Relaxation] | None) -> None:
        super().__init__()
        self.space, self.config = space, config
        self.cell_types: tuple[str, ...] = space.cell_types
        self.relaxations = relaxations or build_relaxations(
            space.searched_factors, SoftmaxConfig(), {}
        )
        if sorted(self.relaxations) != sorted(space.searched_factors):
            raise FactorspaceError(
                f"relaxations for {sorted(self.relaxations)}; the space searches "
                f"{space.searched_factors}"
            )
        # Hooks of factorspace.regularize (the regularizers, set by compile_supernet) and of
        # factorspace.select (a selection rule's fixed and masked choices): None leaves the
        # forward weights and the architecture loss to the relaxations alone.
        self.regularization = None
        self.projection = None

    def init_arch(self) -> None:
        """Create the architecture parameters: per cell type, per searched group, edges x
        choices drawn as ``1e-3 * randn`` (DARTS)."""
        space = self.space
        self.arch = nn.ModuleDict(
            {
                cell_type: nn.ParameterDict(
                    {
                        f: nn.Parameter(
                            1e-3 * torch.randn(space.edges_per_cell, space.arch_width(f))
                        )
                        for f in space.searched_factors
                    }
                )
                for cell_type in self.cell_types
            }
        )

    @property
    def arch_groups(self) -> list[str]:
        """The architecture groups (the searched factors; DARTS's may add ``edge``)."""
        return list(self.space.searched_factors)

    def compile_mixing(self) -> None:
        """``torch.compile`` the mixed activations (eq. 2): one compiled function shared by every
        edge, recompiled per input shape (``search.compile``)."""
        self.set_mixing(torch.compile(mix))

    def set_mixing(self, mix_fn) -> None:
        """Every factorized edge computes eq. 2 with ``mix_fn`` (:meth:`FactorizedEdge.set_mixing`)."""
        for module in self.modules():
            if isinstance(module, FactorizedEdge):
                module.set_mixing(mix_fn)

    @contextlib.contextmanager
    def autograd_mixing(self) -> Iterator[None]:
        """Within the block every factorized edge computes eq. 2 as autograd does (:func:`mix`),
        then as before: for second derivatives, which the fused form's backward does not have."""
        edges = [m for m in self.modules() if isinstance(m, FactorizedEdge)]
        saved = [e.mix for e in edges]
        for e in edges:
            e.set_mixing(mix)
        try:
            yield
        finally:
            for e, mix_fn in zip(edges, saved, strict=True):
                e.set_mixing(mix_fn)

    def arch_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Group name -> its parameters, one per cell type (DARTS: [normal, reduce]); the search
        gives each group an optimizer."""
        return {g: [self.arch[t][g] for t in self.cell_types] for g in self.arch_groups}

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter that is not architecture (the paper's omega)."""
        arch = {id(p) for p in self.arch.parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def forward_weights(self) -> dict[str, dict[str, ForwardWeights]]:
        """Cell type -> group -> the relaxation's forward weights (training or eval, by mode)."""
        groups = self.space.searched_factors
        weights = {
            t: {
                g: self.relaxations[g].forward_weights(self.arch[t][g], self.training)
                for g in groups
            }
            for t in self.cell_types
        }
        if self.regularization is not None:  # SDARTS-RS's perturbation in the weight step
            weights = self.regularization.transform(weights, self.training)
        if self.projection is not None:  # DARTS-PT's decided and masked choices
            weights = self.projection(weights)
        return weights

    def arch_probabilities(self) -> dict[str, dict[str, torch.Tensor]]:
        """Cell type -> group -> the relaxation's probabilities, per edge (edges x choices):
        what derivation and the records read (DARTS: the softmax)."""
        groups = self.space.searched_factors
        return {
            t: {g: self.relaxations[g].probabilities(self.arch[t][g]) for g in groups}
            for t in self.cell_types
        }

    arch_weights = arch_probabilities  # the name before relaxations; both read the same

    def relaxation_loss(self) -> torch.Tensor | None:
        """The relaxations' architecture-loss terms, summed over groups and cell types; ``None``
        when no relaxation has one (DARTS, GDAS)."""
        terms = [
            term
            for g in self.space.searched_factors
            for t in self.cell_types
            if (term := self.relaxations[g].loss(self.arch[t][g])) is not None
        ]
        return add_all(terms) if terms else None

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """The relaxations' and regularizers' per-epoch schedules (e.g. GDAS's temperature);
        call it at the start of every epoch (0-based)."""
        for relaxation in self.relaxations.values():
            relaxation.set_epoch(epoch, epochs)
        if self.regularization is not None:
            self.regularization.set_epoch(epoch, epochs)

    def regularization_loss(self) -> torch.Tensor | None:
        """The regularizers' architecture-loss terms (beta-DARTS's), summed; ``None`` without."""
        if self.regularization is None:
            return None
        return self.regularization.loss(self.arch)

    def mixed_edges(self) -> list[tuple[nn.Module, int, int]]:
        """(edge module, its input channels, its stride) of every mixed edge: a PC-DARTS
        :class:`PartialEdge` as a whole (not the mixed edge inside it), else each mixed edge
        (what DARTS-'s auxiliary skip, :mod:`factorspace.regularize`, attaches to)."""
        edges, inner = [], set()
        for m in self.modules():  # a parent comes before its children
            if isinstance(m, PartialEdge):
                edges.append((m, m.k * m.mixed, m.edge.stride))
                inner.add(id(m.edge))
            elif isinstance(m, _MixedEdge) and id(m) not in inner:
                edges.append((m, m.channels, m.stride))
        return edges

    def edge_weights(self) -> dict[str, torch.Tensor] | None:
        """Cell type -> each edge's normalised weight (PC-DARTS); ``None``: not searched."""
        return None
