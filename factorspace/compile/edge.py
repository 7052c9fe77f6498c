"""Mixed edges: every candidate of one edge, weighted by the architecture.

``FactorizedEdge`` implements eqs. 1-2 for N factors: each operator's output is weighted by the
operator factor's softmax; the input transforms that apply to it (the mixed activation, eq. 2) are
computed once per edge and shared by every operator they apply to; argument-role combinations are
weighted by the product of their factors' softmaxes. ``JointEdge`` gives every valid combination
its own weight in one softmax: the paper's non-factorized baseline, DARTS over the 40
"super-operators" of §3. As in DARTS, where every candidate of a mixed op is its own module, each
candidate is a :class:`SuperOperator`: its own activation modules (a PReLU slope, a Swish ``b``
per candidate) and its own operator (weights and BatchNorm), computed on the edge's input by
itself (``supernet.joint_weights: separate``, the default). ``SharedJointEdge``
(``joint_weights: shared``) keeps one module per operator and per activation, shared by the
candidates that use it, and computes each activation chain once per edge: the factorized space's
weights under the joint softmax.

``none`` (the zero-tagged operator) is never computed: its output is zero, so leaving it out of the
sum changes neither the output nor any gradient (its weight still enters every softmax).

A hard relaxation (GDAS, :mod:`factorspace.relax.gumbel`) names per group the one choice an edge
computes (``chosen``); the edge skips the others, which add their weight, zero in value, to the sum
where that group mixes, so that their logits get the straight-through gradient (GDAS's
``forward_gdas``). Without ``chosen`` every choice is computed, as DARTS.

Speed: an operator whose last module is a non-affine BatchNorm (every DARTS operator in the search
supernet: the convolutions, and pooling with the BN that DARTS appends) is weighted inside that
BatchNorm, ``w * BN(h) = BN(h; weight=w)``, so the weighted sum costs no separate multiply and its
backward no separate reduction. Operators of any other shape are multiplied as usual. A cell
family may compute its terms its own way (``_MixedEdge.set_weigh``: NAS-Bench-201's
:func:`factorspace.compile.nb201.nb201_weighted` shares one ReLU among an edge's convolutions).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
from torch import nn

from factorspace.ops.kernels import BatchNorm2d, batch_norm_call
from factorspace.registry import ACTIVATIONS, OPERATORS
from factorspace.schema.network import DEFAULT_JOINT_WEIGHTS, JointWeights
from factorspace.space import Candidate, Space

Chosen = dict[str, int]  # group -> the one choice a hard relaxation computes on this edge


def op_key(candidate: Candidate) -> str:
    """Module name of the operator (with its arguments) of a candidate."""
    if not candidate.arguments:
        return candidate.op
    values = "_".join(str(v) for _, v in candidate.arguments)
    return f"{candidate.op}__{values}".replace(".", "p").replace("-", "m")


def transform_key(factor: str, choice: str) -> str:
    return f"{factor}__{choice}"


def candidate_key(candidate: Candidate) -> str:
    """Module name of a candidate's :class:`SuperOperator`: its operator key, then its inputs."""
    key = "__".join([op_key(candidate), *(a for _, a in candidate.inputs)])
    return key.replace(".", "p").replace("-", "m")


OpBuilder = Callable[[Candidate, int, int], nn.Module]
"""``(candidate, channels, stride) -> module``: how a supernet builds a candidate's operator
(its cell family's convention; DARTS's is :func:`build_search_op`)."""


def build_search_op(candidate: Candidate, channels: int, stride: int) -> nn.Module:
    """An operator as the DARTS search supernet builds it: non-affine BN, plus BN after pooling."""
    entry = OPERATORS.get(candidate.op)
    op = entry.build(channels, stride, False, **candidate.constructor_arguments())
    if "pooling" in entry.tags:
        op = nn.Sequential(op, BatchNorm2d(channels, affine=False))
    return op


def weighted(
    op: nn.Module, h: torch.Tensor, w: torch.Tensor | None, shared: dict | None = None, start=0
) -> torch.Tensor:
    """``w * op(h)``, the multiply folded into a trailing non-affine BatchNorm where there is one.

    ``start``: ``op`` is a ``Sequential`` whose first ``start`` modules ``h`` has been through
    already. ``shared`` is the :data:`Weigh` signature's per-call dict; this function keeps
    nothing in it."""
    if start == 0 and w is None:
        return op(h)
    bn = op[-1] if isinstance(op, nn.Sequential) and len(op) else None
    # exactly these two: a subclass (distributed.CpuSyncBatchNorm) computes other statistics
    folded = type(bn) in (nn.BatchNorm2d, BatchNorm2d) and not bn.affine and w is not None
    if not folded and start == 0:
        return w * op(h)
    body = h
    # op[a:b] would build a Sequential per call
    for module in itertools.islice(op, start, len(op) - 1 if folded else len(op)):
        body = module(body)
    if not folded:
        return body if w is None else w * body
    # a stride-0 (expanded) weight takes a slow kernel, hence contiguous()
    return batch_norm_call(bn, body, w.expand(bn.num_features).contiguous(), None)


Weigh = Callable[[nn.Module, torch.Tensor, "torch.Tensor | None", dict], torch.Tensor]
"""``(op, h, w, shared) -> w * op(h)``: how an edge computes one weighted term (:func:`weighted`,
or a cell family's). ``shared`` is one dict per edge call, for what that call's terms may compute
once (a family's function keys it by what it stores)."""


def add_all(terms: Sequence[torch.Tensor]) -> torch.Tensor:
    """The sum of ``terms`` without Python ``sum``'s extra ``0 + t`` copy."""
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def unchosen(w: torch.Tensor, k: int) -> torch.Tensor:
    """The sum of ``w`` but ``w[k]``: zero in value under a hard relaxation, it carries the
    straight-through gradient of the choices not computed (GDAS)."""
    return torch.cat([w[:k], w[k + 1 :]]).sum()


def mix(x: torch.Tensor, w: torch.Tensor, transforms: Sequence[nn.Module]) -> torch.Tensor:
    """Eq. 2: ``sum_a w_a * a(x)``. A free function, so that one ``torch.compile`` of it serves
    every edge (:meth:`FactorizedEdge.compile_mixing`)."""
    return add_all([w[k] * t(x) for k, t in enumerate(transforms)])


def shared_modules(
    space: Space, channels: int, stride: int, build_op: OpBuilder = build_search_op
) -> tuple[nn.ModuleDict, nn.ModuleDict]:
    """One module per operator-with-arguments and one per input transform choice, each shared
    by every candidate of the edge that uses it (built in candidate order)."""
    ops, transforms = nn.ModuleDict(), nn.ModuleDict()
    for c in space.candidates:
        if c.is_zero:
            continue
        if op_key(c) not in ops:
            ops[op_key(c)] = build_op(c, channels, stride)
        for factor, choice in c.inputs:
            if transform_key(factor, choice) not in transforms:
                transforms[transform_key(factor, choice)] = ACTIVATIONS.get(choice).build(channels)
    return ops, transforms


class SuperOperator(nn.Module):
    """One candidate as its own module (a DARTS "super-operator", §3): its input transforms in
    factor order (``inputs``), then its operator (``op``), none of them shared."""

    def __init__(
        self,
        candidate: Candidate,
        channels: int,
        stride: int,
        build_op: OpBuilder = build_search_op,
    ) -> None:
        super().__init__()
        self.inputs = nn.Sequential(
            *(ACTIVATIONS.get(a).build(channels) for _, a in candidate.inputs)
        )
        self.op = build_op(candidate, channels, stride)

    def weighted(
        self, x: torch.Tensor, w: torch.Tensor | None, weigh: Weigh = weighted, shared=None
    ) -> torch.Tensor:
        """``w * op(inputs(x))``, ``w`` folded into the operator's BatchNorm (:func:`weighted`,
        or ``weigh`` with the edge call's ``shared`` dict)."""
        return weigh(self.op, self.inputs(x), w, {} if shared is None else shared)


class _MixedEdge(nn.Module):
    """What every mixed edge has: its space, channels, stride and operator builder; an edge of
    ``none`` alone is zero."""

    def __init__(
        self, space: Space, channels: int, stride: int, build_op: OpBuilder = build_search_op
    ) -> None:
        super().__init__()
        self.space = space
        self.channels, self.stride = channels, stride
        self.build_op = build_op
        self.zero_only = all(c.is_zero for c in space.candidates)
        self.weigh: Weigh = weighted

    def set_weigh(self, weigh: Weigh) -> None:
        """Compute each weighted term with ``weigh`` (default :func:`weighted`)."""
        self.weigh = weigh

    def zeros(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedEdge(_MixedEdge):
    def __init__(
        self, space: Space, channels: int, stride: int, build_op: OpBuilder = build_search_op
    ) -> None:
        super().__init__(space, channels, stride, build_op)
        self.ops, self.transforms = shared_modules(space, channels, stride, build_op)
        config = space.config
        self.op_factor = config.operator.name
        self.mix = mix
        # Per operator choice (its index in the operator factor): the input factors applying to
        # it and its argument combinations, as (module key, [(factor, choice index)...]).
        self.plan = []
        for i, op in enumerate(config.operator.choices):
            if "zero" in OPERATORS.get(op).tags:
                continue
            ins = tuple(f.name for f in space.input_factors(op))
            combos = {}  # one entry per argument combination (input choices are mixed, eq. 2)
            for c in space.candidates_of(op):
                picks = [(f, config.factor(f).choices.index(v)) for f, v in c.arguments]
                combos[op_key(c)] = picks
            combos = list(combos.items())
            self.plan.append((i, ins, combos))

    def mixed_transform(
        self, x: torch.Tensor, factor: str, w: torch.Tensor | None, pick: int | None = None
    ) -> torch.Tensor:
        """Eq. 2: sum_a softmax(beta)_a * a(x); a fixed (single-choice) factor is just applied;
        a hard pick computes its transform alone."""
        choices = self.space.config.factor(factor).choices
        if w is None:
            return self.transforms[transform_key(factor, choices[0])](x)
        if pick is not None:  # a hard relaxation: the picked transform alone (GDAS)
            picked = self.transforms[transform_key(factor, choices[pick])]
            return w[pick] * picked(x) + unchosen(w, pick)
        return self.mix(x, w, [self.transforms[transform_key(factor, a)] for a in choices])

    def set_mixing(self, mix_fn) -> None:
        """Compute the mixed transforms (eq. 2) with ``mix_fn(x, w, transforms)``, a drop-in
        for :func:`mix`: :func:`~factorspace.ops.fused.fused_mix`, or ``torch.compile(mix)``."""
        self.mix = mix_fn

    def compile_mixing(self, compiled_mix) -> None:
        """Use ``compiled_mix`` (``torch.compile(mix)``) for the mixed transforms: one fused
        kernel for eq. 2's nine activations and their weighted sum, forward and backward."""
        self.set_mixing(compiled_mix)

    def forward(
        self, x: torch.Tensor, weights: dict[str, torch.Tensor], chosen: Chosen | None = None
    ) -> torch.Tensor:
        chosen = chosen or {}
        if self.zero_only:
            return self.zeros(x)
        inputs: dict[tuple[str, ...], torch.Tensor] = {(): x}
        w_op = weights.get(self.op_factor)
        op_pick = chosen.get(self.op_factor)
        terms, mixed = [], set()  # mixed: the hard groups whose choices met in this sum
        shared: dict = {}
        for i, factors, combos in self.plan:
            if op_pick is not None and i != op_pick:
                continue
            h = self._input(inputs, x, factors, weights, chosen)
            for key, picks in combos:
                if any(chosen.get(f, k) != k for f, k in picks):
                    continue
                # eq. 1: the operator's weight times its argument factors' weights
                coef = None if w_op is None else w_op[i]
                for factor, k in picks:
                    if factor in weights:
                        w = weights[factor]
                        coef = w[k] if coef is None else coef * w[k]
                        mixed.add(factor)
                terms.append(self.weigh(self.ops[key], h, coef, shared))
        if op_pick is not None:
            mixed.add(self.op_factor)
        if not chosen:
            return add_all(terms)
        ghosts = [unchosen(weights[f], chosen[f]) for f in chosen if f in mixed]
        return add_all([add_all(terms) if terms else self.zeros(x), *ghosts])

    def _input(self, cache, x, factors: Sequence[str], weights, chosen: Chosen) -> torch.Tensor:
        """The composed input transforms for ``factors``, each prefix computed once per edge."""
        for n in range(1, len(factors) + 1):
            if factors[:n] not in cache:
                factor = factors[n - 1]
                cache[factors[:n]] = self.mixed_transform(
                    cache[factors[: n - 1]], factor, weights.get(factor), chosen.get(factor)
                )
        return cache[tuple(factors)]


class JointEdge(_MixedEdge):
    """Every candidate in one softmax (the group ``joint``), each its own :class:`SuperOperator`
    (``supernet.joint_weights: separate``): DARTS's mixed op over the super-operators."""

    def __init__(
        self, space: Space, channels: int, stride: int, build_op: OpBuilder = build_search_op
    ) -> None:
        super().__init__(space, channels, stride, build_op)
        (self.group,) = space.groups  # one group: every candidate
        # the computed candidates' indices on the softmax axis: all but `none`
        self.plan = [k for k, c in enumerate(space.candidates) if not c.is_zero]
        self.build_candidates([space.candidates[k] for k in self.plan], channels, stride)

    def build_candidates(self, live: list[Candidate], channels: int, stride: int) -> None:
        """Register the modules of the computed candidates ``live`` (in plan order)."""
        self.candidates = nn.ModuleDict(
            {candidate_key(c): SuperOperator(c, channels, stride, self.build_op) for c in live}
        )
        self.keys = [candidate_key(c) for c in live]

    def response(
        self, n: int, x: torch.Tensor, cache: dict, w: torch.Tensor | None, shared: dict
    ) -> torch.Tensor:
        """The ``n``-th computed candidate's weighted output; ``cache`` holds the transforms of
        ``x`` computed so far on this edge (used by the shared variant), ``shared`` is the
        :data:`Weigh` function's dict of this call."""
        return self.candidates[self.keys[n]].weighted(x, w, self.weigh, shared)

    def forward(
        self, x: torch.Tensor, weights: dict[str, torch.Tensor], chosen: Chosen | None = None
    ) -> torch.Tensor:
        if self.zero_only:
            return self.zeros(x)
        w = weights.get(self.group)
        pick = (chosen or {}).get(self.group)
        cache: dict[tuple, torch.Tensor] = {(): x}
        shared: dict = {}
        terms = [
            self.response(n, x, cache, None if w is None else w[k], shared)
            for n, k in enumerate(self.plan)
            if pick is None or k == pick  # a hard relaxation computes its pick alone (GDAS)
        ]
        if pick is None:
            return add_all(terms)
        return add_all([add_all(terms) if terms else self.zeros(x), unchosen(w, pick)])


class SharedJointEdge(JointEdge):
    """The joint softmax over modules shared by candidates (``joint_weights: shared``): one
    operator module for its nine activation variants, one module per activation, and each
    activation chain computed once per edge; the factorized space's modules, and what the joint
    mode computed before it had separate weights."""

    def build_candidates(self, live: list[Candidate], channels: int, stride: int) -> None:
        self.ops, self.transforms = shared_modules(self.space, channels, stride, self.build_op)
        self.chains = [(op_key(c), c.inputs) for c in live]

    def response(
        self, n: int, x: torch.Tensor, cache: dict, w: torch.Tensor | None, shared: dict
    ) -> torch.Tensor:
        key, chain = self.chains[n]
        # each distinct activation chain is computed once per edge and shared
        for i in range(1, len(chain) + 1):
            if chain[:i] not in cache:
                cache[chain[:i]] = self.transforms[transform_key(*chain[i - 1])](
                    cache[chain[: i - 1]]
                )
        return self.weigh(self.ops[key], cache[chain], w, shared)


EDGE_TYPES: dict[str, type[_MixedEdge]] = {"factorized": FactorizedEdge, "joint": JointEdge}
"""``space.mode`` -> the edge that mixes its groups (the schema's ``mode`` values)."""

JOINT_EDGE_TYPES: dict[str, type[JointEdge]] = {"separate": JointEdge, "shared": SharedJointEdge}
"""``supernet.joint_weights`` -> the edge of a joint space."""


def build_edge(
    space: Space,
    channels: int,
    stride: int,
    joint_weights: JointWeights = DEFAULT_JOINT_WEIGHTS,
    build_op: OpBuilder = build_search_op,
) -> _MixedEdge:
    """The mixed edge of ``space``; ``joint_weights`` picks a joint space's edge (and is ignored
    by a factorized space, whose operators are one module each by construction); ``build_op``
    builds each operator (DARTS's convention unless a family gives its own)."""
    if space.mode == "joint":
        return JOINT_EDGE_TYPES[joint_weights](space, channels, stride, build_op)
    return EDGE_TYPES[space.mode](space, channels, stride, build_op)
