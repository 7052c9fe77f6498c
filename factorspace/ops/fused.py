"""Eq. 2's mixed activation, ``sum_k w_k * act_k(x)``, at the memory cost of one tensor.

Computed by autograd, the mix keeps every activation's output (and some of their inputs) for the
backward pass: about nine tensors the size of the edge input, per edge. :func:`fused_mix` keeps
``x``, ``w``, the activations' learned parameters and one tensor computed in the forward pass,
``slope = sum_k w_k * act_k'(x)``; with ``g`` the gradient of the mix, the backward pass computes

* ``dL/dx = g * slope``,
* ``dL/dw_k = sum(g * act_k(x))``, the activations recomputed,
* ``dL/dp = sum(g * w_k * d act_k / dp)`` for a learned parameter ``p`` of ``act_k``.

Both passes go over the batch in chunks small enough to stay in cache, so each activation's
temporaries never reach main memory: one pass over memory each way. RReLU in training keeps its
random slopes too where torch draws them (they cannot be redrawn): two tensors per edge instead of
about 22. Hashed (``hashed=True``, ``supernet.rrelu_noise: hashed``), its slopes are a function of
one seed and each element's position (:func:`~factorspace.ops.hashed.hashed_uniform`),
recomputed in the backward pass.

An activation takes part when it has a :class:`FusedForm`: its module defines
``fused_form(self, x) -> FusedForm`` or its exact type was given one with
:func:`register_fused_form` (:mod:`factorspace.ops.activations` does so for the nine registered
activations). Activations without one are computed by autograd as before, and added.

Where the forms declare a ``key``, both passes run as one compiled kernel each
(:mod:`factorspace.ops.fused_kernel`: ``torch.compile``, C++/OpenMP on CPU, Triton on CUDA),
with this module's chunked eager code as the fallback where compiling is unavailable.

The fused form changes the order of floating-point operations, so losses differ from autograd's
at rounding level (and the compiled kernel's from the eager fused path's): the default
``supernet.fused_activation`` selects it (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from factorspace.ops import fused_kernel
from factorspace.ops.kernels import _get_current_dispatch_mode

# Elements per chunk: a chunk, its gradient and a few temporaries stay within a core's 1 MiB L2
# (measured on this project's CPU: 2**16 and 2**18 equally fast, 2**14 and whole tensors slower).
CHUNK_ELEMENTS = 2**16


@dataclass(frozen=True)
class FusedForm:
    """An elementwise activation as plain functions of ``x`` and ``tensors``.

    ``value(x, *tensors)`` is the activation; ``derivative(x, v, *tensors)`` its derivative in
    ``x``, given ``v = value(x, *tensors)``; ``grads(x, g, *tensors)`` the gradients of
    ``sum(g * value)`` for each of ``tensors`` (``None`` for those that need none). ``tensors``
    are the module's learned parameters and any state its forward drew: a tensor shaped as ``x``
    (RReLU's random slopes) is cut into the same chunks as ``x``. All three must be elementwise
    in ``x``, must not modify their arguments and must read no tensor but their arguments.

    ``key`` (hashable) names the functions: forms with equal keys compute the same ones (the
    constants they close over included, e.g. ``("elu", alpha)``). A form with a key can be
    compiled (:mod:`factorspace.ops.fused_kernel`): the kernel traced from the first forms seen
    with a tuple of keys serves every later one with the same keys. ``None``: never compiled.

    ``positional``: the three functions take, after ``x`` (and ``v``, ``g``), ``index``: each
    element's position in the input's memory order (int64, shaped as ``x``). A form whose
    random numbers are a function of a seed and the position
    (:func:`~factorspace.ops.hashed.hashed_uniform`) draws nothing per element and keeps
    nothing: the backward pass recomputes them."""

    value: Callable[..., torch.Tensor]
    derivative: Callable[..., torch.Tensor]
    tensors: tuple[torch.Tensor, ...] = ()
    grads: Callable[..., tuple[torch.Tensor | None, ...]] | None = None
    key: Hashable | None = None
    positional: bool = False


FormBuilder = Callable[[nn.Module, torch.Tensor], FusedForm]

FUSED_FORMS: dict[type, FormBuilder] = {}
"""Exact module type -> ``form(module, x)``: the fused form of a torch module (subclasses may
compute something else, so they are not matched)."""

HASHED_FORMS: dict[type, FormBuilder] = {}
"""Exact module type -> ``form(module, x)`` drawing its random numbers with
:func:`~factorspace.ops.hashed.hashed_uniform` instead of torch's generator per element
(``supernet.rrelu_noise: hashed``); a type without one uses its :data:`FUSED_FORMS` entry."""


def register_fused_form(module_type: type, *, hashed: bool = False):
    """Declare ``form(module, x) -> FusedForm`` as the fused form of ``module_type``'s modules
    (``hashed``: the variant whose random numbers are
    :func:`~factorspace.ops.hashed.hashed_uniform`'s)."""
    table = HASHED_FORMS if hashed else FUSED_FORMS

    def decorate(form: FormBuilder):
        if module_type in table:
            raise ValueError(f"a fused form of {module_type.__name__} is already registered")
        table[module_type] = form
        return form

    return decorate


def fused_form(module: nn.Module, x: torch.Tensor, hashed: bool = False) -> FusedForm | None:
    """``module``'s fused form on input ``x``, ``None`` when it declares none; ``hashed``: its
    :data:`HASHED_FORMS` variant where it has one.

    Called once per forward, in the activations' order: a form that draws random numbers
    (RReLU's slopes, or the seed of their hash) draws them here, where autograd's forward would."""
    declared = getattr(module, "fused_form", None)
    if callable(declared):
        return declared(x)
    form = (HASHED_FORMS.get(type(module)) if hashed else None) or FUSED_FORMS.get(type(module))
    return None if form is None else form(module, x)


def positions(x: torch.Tensor, fmt: torch.memory_format, start: int = 0, stop=None):
    """Each element's position in ``fmt``'s order (the order the compiled kernels see), for the
    rows ``start:stop`` of ``x``: int64, shaped and laid out as those rows."""
    stop = x.shape[0] if stop is None else stop
    per_row = x[0].numel() if x.shape[0] else 0
    rows = x[start:stop]
    flat = torch.arange(start * per_row, stop * per_row, dtype=torch.int64, device=x.device)
    return _unflat(flat, rows, fmt)


def fused_mix(
    x: torch.Tensor, w: torch.Tensor, transforms: Sequence[nn.Module], hashed: bool = False
) -> torch.Tensor:
    """Eq. 2, ``sum_k w[k] * transforms[k](x)``, saving only ``x`` for the backward pass where
    the transforms have fused forms (:class:`_FusedMix`); the others as autograd computes them.
    ``hashed``: forms with a :data:`HASHED_FORMS` variant use it (``supernet.rrelu_noise``)."""
    if x.dim() == 0 or x.dtype != w.dtype:  # chunks are rows; autocast: as autograd computes
        return _add_all([w[k] * t(x) for k, t in enumerate(transforms)])
    forms, plain = [], []
    for k, t in enumerate(transforms):  # in order: a form may draw random numbers, as t(x) does
        form = fused_form(t, x, hashed)
        if form is None:
            plain.append(w[k] * t(x))
        else:
            forms.append((k, form))
    if not forms:
        return _add_all(plain)
    w_fused = w
    if len(forms) != len(transforms):
        w_fused = w.index_select(0, torch.tensor([k for k, _ in forms], device=w.device))
    spec = tuple((f.value, f.derivative, f.grads, len(f.tensors), f.positional) for _, f in forms)
    tensors = [t for _, f in forms for t in f.tensors]
    kernels = _kernels(tuple(f.key for _, f in forms), spec, x, tensors)
    if torch.is_grad_enabled():
        out = _FusedMix.apply(x, w_fused, spec, kernels, *tensors)
    else:  # nothing to keep for a backward pass
        out = None if kernels is None else _compiled(kernels.value, x, w_fused, tensors)
        if out is None:
            out, _ = _mixed(x, w_fused, spec, tensors, with_slope=False)
    return _add_all([out, *plain])


def _kernels(keys: tuple, spec, x: torch.Tensor, tensors) -> fused_kernel.Kernels | None:
    """The compiled kernels for these forms on ``x``, or ``None`` (the eager path): a form
    without a key, or a tensor neither shaped as ``x`` nor a single number (PReLU with one
    slope per channel is not elementwise along the kernels' one axis)."""
    if None in keys or not x.is_floating_point() or x.dim() < 1:
        return None
    # under a dispatch mode (torch's flop counter, fake tensors) or while dynamo traces the
    # caller, the eager ops run: what is counted or traced is plain torch
    if _get_current_dispatch_mode() is not None or torch.compiler.is_compiling():
        return None
    if any(t.shape != x.shape and t.numel() != 1 for t in tensors):
        return None
    return fused_kernel.kernels_for(keys, spec, x.device)


def layout(x: torch.Tensor) -> torch.memory_format:
    """The element order the compiled kernels see ``x`` in (and the layout of tensors drawn for
    it, RReLU's slopes): :func:`memory_format`, and channels_last for
    a 4-D tensor that is neither but has its channels innermost (a PC-DARTS channel slice of a
    channels_last tensor), so that the output keeps that layout."""
    fmt = memory_format(x)
    sliced = fmt is torch.contiguous_format and not x.is_contiguous() and x.dim() == 4
    if sliced and x.stride(1) == 1 and x.shape[1] > 1:
        return torch.channels_last
    return fmt


def _unflat(flat: torch.Tensor, x: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    """``flat`` (elements in ``fmt``'s order) as a tensor shaped and laid out as ``x``."""
    if fmt is torch.channels_last:
        n, c, h, w = x.shape
        return flat.view(n, h, w, c).permute(0, 3, 1, 2)
    return flat.view(x.shape)


def _flat_args(x, tensors, fmt) -> list[torch.Tensor]:
    """``x`` and the forms' tensors along one axis in ``fmt``'s order (:func:`_one_axis`);
    single-number parameters as they are (they broadcast)."""
    # detached: dynamo guards requires_grad, which the architecture passes turn off for weights
    flat = (_one_axis(t, fmt) if t.shape == x.shape else t.detach() for t in tensors)
    return [_one_axis(x, fmt), *flat]


def _one_axis(t: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    """``t``'s elements in ``fmt``'s order as one axis, sharing ``t``'s memory where it is laid
    out so, and never a view: dynamo guards a view's base (its shape and strides), which would
    compile the kernels again for each layout and shape of the tensors they are views of."""
    flat = _flat(t, fmt)  # one axis, stride 1: a view of t or a copy
    return torch.empty(0, dtype=t.dtype, device=t.device).set_(
        flat.untyped_storage(), flat.storage_offset(), flat.shape, (1,)
    )


def _compiled(kernel, x, w, tensors):
    """The value kernel on ``x``: the output shaped and laid out as ``x``, or ``None`` where
    the kernel failed (computed eagerly instead)."""
    fmt = layout(x)
    xf, *ts = _flat_args(x, tensors, fmt)
    result = fused_kernel.run(kernel, x.device, xf, w.clone(), *ts)  # clone: not a view
    return None if result is None else _unflat(result, x, fmt)


def _add_all(terms: list[torch.Tensor]) -> torch.Tensor:
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _chunks(x: torch.Tensor) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of ``x``'s first axis of about :data:`CHUNK_ELEMENTS` each on
    CPU; one range elsewhere (on a GPU each chunk would cost kernel launches, not cache)."""
    if x.device.type != "cpu":
        return [(0, x.shape[0])]
    rows = max(1, CHUNK_ELEMENTS // max(x[0].numel(), 1))
    return [(i, min(i + rows, x.shape[0])) for i in range(0, x.shape[0], rows)]


def _split(spec, tensors) -> list[tuple[torch.Tensor, ...]]:
    """The tensors of each form, in ``spec`` order."""
    out, i = [], 0
    for *_, n, _ in spec:
        out.append(tuple(tensors[i : i + n]))
        i += n
    return out


def _rows(ts, start: int, stop: int, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``ts`` for the rows ``start:stop`` of ``x``: a tensor shaped as ``x`` (elementwise state:
    RReLU's slopes) is cut to those rows; parameters are whole."""
    return tuple(t[start:stop] if t.shape == x.shape else t for t in ts)


def _mixed(x, w, spec, tensors, with_slope: bool):
    """``(sum_k w_k act_k(x), sum_k w_k act_k'(x) or None)``, chunk by chunk, each sum
    accumulated in place in its output's rows."""
    per_form = _split(spec, tensors)
    out = torch.empty_like(x)
    slope = torch.empty_like(x) if with_slope else None
    ws = w.unbind(0)
    order = layout(x) if fused_kernel.any_positional(spec) else None
    for start, stop in _chunks(x):
        xc, oc = x[start:stop], out[start:stop]
        sc = slope[start:stop] if with_slope else None
        index = None if order is None else positions(x, order, start, stop)
        for k, ((value, derivative, _, _, at), wk, ts) in enumerate(
            zip(spec, ws, per_form, strict=True)
        ):
            tc = _rows(ts, start, stop, x)
            pc = (index,) if at else ()
            v = value(xc, *pc, *tc)
            if with_slope:
                _accumulate(sc, k, wk, derivative(xc, v, *pc, *tc))
            _accumulate(oc, k, wk, v)
    return out, slope


def _accumulate(total: torch.Tensor, k: int, w: torch.Tensor, term: torch.Tensor) -> None:
    """``total = w * term`` for the first term (``k == 0``), else ``total += w * term``."""
    if k == 0:
        torch.mul(term, w, out=total)
    else:
        total.addcmul_(term, w)


class _FusedMix(torch.autograd.Function):
    """Eager: the forward computes, per chunk, the values and derivatives of every activation,
    weighted and summed into the output and into ``slope = sum_k w_k act_k'(x)``, the one
    tensor kept besides ``x``; the backward is ``g * slope``, with the values recomputed only for
    the weights' gradient. Compiled (``kernels``): the forward computes the output alone and the
    backward kernel recomputes values and derivatives in one loop, so only ``x`` is kept."""

    @staticmethod
    def forward(ctx, x, w, spec, kernels, *tensors):
        out = slope = None
        if kernels is not None:
            out = _compiled(kernels.value, x, w, tensors)
        if out is None:
            out, slope = _mixed(x, w, spec, tensors, ctx.needs_input_grad[0])
        ctx.spec, ctx.kernels = spec, kernels if slope is None else None
        ctx.save_for_backward(x, w, slope, *tensors)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, w, slope, *tensors = ctx.saved_tensors
        spec, per_form = ctx.spec, _split(ctx.spec, tensors)
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        need_t = ctx.needs_input_grad[4:]
        grad_t: list[torch.Tensor | None] = [None] * len(tensors)
        if ctx.kernels is not None:
            found = _compiled_backward(ctx.kernels.backward, x, grad, w, tensors)
            if found is not None:
                grad_x, grad_w, all_t = found
                grad_t = [g if need else None for g, need in zip(all_t, need_t, strict=True)]
                return grad_x if need_x else None, grad_w if need_w else None, None, None, *grad_t
            if need_x:  # the kernel failed: the slope the compiled forward did not keep
                _, slope = _mixed(x, w, spec, tensors, with_slope=True)
        fmt = memory_format(x)
        grad = grad.contiguous(memory_format=fmt)
        grad_x = grad * slope if need_x else None
        grad_w: list[torch.Tensor | None] = [None] * len(spec)
        if not need_w and not any(need_t):
            return grad_x, None, None, None, *grad_t
        ws = w.unbind(0)
        order = layout(x) if fused_kernel.any_positional(spec) else None
        for start, stop in _chunks(x):
            xc, gc = x[start:stop], grad[start:stop]
            index = None if order is None else positions(x, order, start, stop)
            offset = 0
            for k, ((value, _, grads, n, at), ts) in enumerate(zip(spec, per_form, strict=True)):
                tc = _rows(ts, start, stop, x)
                pc = (index,) if at else ()
                if need_w:  # dL/dw_k = sum(g * act_k(x))
                    v = value(xc, *pc, *tc)
                    grad_w[k] = _plus(grad_w[k], torch.dot(_flat(gc, fmt), _flat(v, fmt)))
                if grads is not None and any(need_t[offset : offset + n]):
                    for i, g in enumerate(grads(xc, gc * ws[k], *pc, *tc)):
                        if g is not None and need_t[offset + i]:
                            grad_t[offset + i] = _plus(grad_t[offset + i], g)
                offset += n
        return grad_x, torch.stack(grad_w) if need_w else None, None, None, *grad_t


def _compiled_backward(kernel, x, grad, w, tensors):
    """The backward kernel: ``(dL/dx shaped as x, dL/dw, [dL/dt for each tensor])``, or
    ``None`` where it failed."""
    fmt = layout(x)
    xf, *ts = _flat_args(x, tensors, fmt)
    result = fused_kernel.run(kernel, x.device, xf, _one_axis(grad, fmt), w.clone(), *ts)
    if result is None:
        return None
    grad_x, grad_w, *grad_t = result
    return _unflat(grad_x, x, fmt), grad_w, grad_t


def _flat(t: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    """``t``'s elements in ``fmt``'s order (NHWC for channels_last), as one axis: the same order
    for any two tensors of one shape, and a view when ``t`` is laid out in ``fmt``."""
    if fmt is torch.channels_last:
        return t.permute(0, 2, 3, 1).reshape(-1)
    return t.reshape(-1)


def _plus(total: torch.Tensor | None, term: torch.Tensor) -> torch.Tensor:
    return term if total is None else total + term


def memory_format(x: torch.Tensor) -> torch.memory_format:
    """channels_last for a 4-D tensor laid out so (and not also contiguous), else contiguous."""
    if (
        x.dim() == 4
        and x.is_contiguous(memory_format=torch.channels_last)
        and not x.is_contiguous()
    ):
        return torch.channels_last
    return torch.contiguous_format
