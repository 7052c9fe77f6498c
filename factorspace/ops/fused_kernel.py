"""The fused mixed activation (eq. 2) as one generated kernel per direction.

:mod:`factorspace.ops.fused` computes ``sum_k w_k act_k(x)`` and its gradients with about 50
torch calls per chunk of the input, each a pass over the chunk with Python dispatch before it.
Here the same formulas (the activations' :class:`~factorspace.ops.fused.FusedForm`) are traced
once with ``torch.compile`` (inductor: C++/OpenMP loops on CPU, Triton on CUDA) into:

* ``value(x, w, *tensors) -> out``: one loop over ``x`` computing every activation in
  registers, weighted and summed;
* ``backward(x, g, w, *tensors) -> (dL/dx, dL/dw, dL/dp...)``: one loop over ``x`` and ``g``
  recomputing the activations and their derivatives, with every reduction (one per activation
  for ``dL/dw``, one per learned parameter) accumulated in the same loop. Recomputing costs
  little arithmetic in a loop that reads ``x`` anyway, and keeps one tensor less per edge than
  the eager path's ``slope``: only ``x`` is kept for the backward pass (and RReLU's slopes
  where torch draws them).

The kernels work on the tensors' elements as one axis in memory order (NCHW or NHWC), with the
length dynamic: one compile serves every input shape and layout. RReLU's training slopes are
either drawn by torch's own kernel when its fused form is built, as autograd's path draws them,
and passed in (``supernet.rrelu_noise: torch``), or hashed from one seed and each element's
position inside the kernels, the position an iota of the loop (``hashed``, the default:
:func:`~factorspace.ops.hashed.hashed_uniform`).

A kernel is built per tuple of the forms' ``key`` (a form without one is never compiled) and
shared by every edge whose activations have those keys. Where compiling fails (no C++ compiler,
an inductor error), the failure is said once (a warning) and the eager fused path computes
everything on that device type from then on; ``FACTORSPACE_FUSED_KERNEL=eager`` chooses it
from the start. :func:`prepare` compiles a space's kernels before a run and says which ran.
"""

from __future__ import annotations

import logging
import os
import time
import types
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

ENV = "FACTORSPACE_FUSED_KERNEL"  # "eager": never compile the fused mixed activation


class FusedKernelFallback(UserWarning):
    """Compiling the fused mixed activation failed; the eager fused path runs instead."""


@dataclass
class Kernels:
    """The compiled functions of one tuple of fused forms (see the module's docstring)."""

    value: Callable
    backward: Callable


_KERNELS: dict[tuple, Kernels] = {}
_UNAVAILABLE: dict[str, str] = {}  # device type -> why the kernels do not run there


def reset() -> None:
    """Forget every kernel and failure (tests; a changed environment)."""
    _KERNELS.clear()
    _UNAVAILABLE.clear()


def unavailable(device_type: str) -> str | None:
    """Why the compiled kernels do not run on ``device_type`` (``None``: they do, or will)."""
    if os.environ.get(ENV, "").strip().lower() == "eager":
        return f"{ENV}=eager"
    return _UNAVAILABLE.get(device_type)


def kernels_for(keys: tuple, spec: Sequence, device: torch.device) -> Kernels | None:
    """The compiled kernels of forms with ``keys`` whose functions are ``spec`` (as
    :func:`~factorspace.ops.fused.fused_mix` builds it); ``None`` where they cannot run."""
    if unavailable(device.type) is not None:
        return None
    found = _KERNELS.get((keys, device.type))
    if found is None:
        found = _KERNELS[(keys, device.type)] = Kernels(
            _compile(_value_fn(spec), "value", len(_KERNELS)),
            _compile(_backward_fn(spec), "backward", len(_KERNELS)),
        )
    return found


def run(kernel: Callable, device: torch.device, *args):
    """``kernel(*args)``, or ``None`` after saying why (once) where it fails: compiling failed,
    and the caller computes eagerly; the device type stays eager from then on."""
    if unavailable(device.type) is not None:
        return None
    try:
        return kernel(*args)
    except Exception as e:  # an error of the computation itself recurs on the eager path
        reason = f"{e.__class__.__name__}: {str(e).strip().splitlines()[0] if str(e) else ''}"
        _UNAVAILABLE[device.type] = reason[:300]
        warnings.warn(
            f"the fused mixed activation's compiled kernel failed on {device.type} ({reason}); "
            "computing it eagerly (the same formulas, slower)",
            FusedKernelFallback,
            stacklevel=3,
        )
        return None


def _compile(fn: Callable, direction: str, index: int) -> Callable:
    """``torch.compile`` a fresh copy of ``fn``'s code: dynamo caches compiled graphs per code
    object, so each tuple of forms gets its own cache (and its own name in profiles)."""
    code = fn.__code__.replace(co_name=f"fused_mix_{direction}_{index}")
    copy = types.FunctionType(code, fn.__globals__, code.co_name, None, fn.__closure__)
    # dynamic: one graph for every length; fullgraph: a graph break would be eager arithmetic
    # compile_threads 1: no pool of compiling processes (each imports torch: seconds on 2 cores)
    return torch.compile(copy, dynamic=True, fullgraph=True, options={"compile_threads": 1})


def any_positional(spec) -> bool:
    """Whether a form of ``spec`` (as :func:`~factorspace.ops.fused.fused_mix` builds it) takes
    each element's position (:attr:`~factorspace.ops.fused.FusedForm.positional`)."""
    return any(at for *_, at in spec)


def _positions(x: torch.Tensor, spec) -> tuple:
    """``(index,)`` for positional forms: each element's position along the kernels' one axis
    (an iota inside the generated loop, never stored), else ``()``."""
    if not any_positional(spec):
        return ()
    return (torch.arange(x.shape[0], dtype=torch.int64, device=x.device),)


def _value_fn(spec) -> Callable:
    def value(x, w, *tensors):
        out, i = None, 0
        index = _positions(x, spec)
        for k, (act, _, _, n, at) in enumerate(spec):
            v = w[k] * act(x, *(index if at else ()), *tensors[i : i + n])
            out = v if out is None else out + v
            i += n
        return out

    return value


def _backward_fn(spec) -> Callable:
    def backward(x, g, w, *tensors):
        slope, grad_w, grad_t, i = None, [], [], 0
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        index = _positions(x, spec)
        for k, (value, derivative, grads, n, at) in enumerate(spec):
            ts = (*(index if at else ()), *tensors[i : i + n])
            i += n
            v = value(x, *ts)
            d = w[k] * derivative(x, v, *ts)
            slope = d if slope is None else slope + d
            grad_w.append((g * v).sum())
            # a tensor without a gradient (RReLU's slopes, a seed) gets a zero: no None returned
            found = grads(x, g * w[k], *ts) if grads is not None else (None,) * n
            grad_t.extend(zero if t is None else t for t in found)
        return g * slope, torch.stack(grad_w), *grad_t

    return backward


# ---- before a run: compile a space's kernels, and say which path computes eq. 2 -------------


@dataclass
class Prepared:
    """What :func:`prepare` found: the header's line and the seconds compiling took."""

    line: str
    compile_s: float = 0.0


def backend_name(device: torch.device) -> str:
    return "Triton" if device.type == "cuda" else "C++/OpenMP"


def prepare(recipe, device: torch.device) -> Prepared:
    """Before a search (or ``bench``) of ``recipe`` on ``device``: compile the fused kernels its
    mixed activations will use (fp32, train and eval), so that the first step does not, and say
    in one line which path computes eq. 2. Draws no random numbers the run would draw."""
    space, supernet = recipe.space, recipe.supernet
    mixed = [f.choices for f in space.factors if f.role == "input" and len(f.choices) > 1]
    if space.mode == "joint" or not mixed:
        return Prepared("mixed activation: none (no mixed input factor in this space)")
    if recipe.search is not None and recipe.search.compile:
        return Prepared(
            "mixed activation: autograd's, compiled with torch.compile (search.compile)"
        )
    if not supernet.fused_activation:
        return Prepared("mixed activation: autograd (supernet.fused_activation: false)")
    precision = getattr(recipe.search, "precision", "fp32")
    if precision != "fp32":  # autocast: the edge input and the weights differ in dtype
        return Prepared(f"mixed activation: autograd (search.precision {precision}: autocast)")
    started = time.perf_counter()
    hashed = supernet.rrelu_noise == "hashed"
    for choices in mixed:
        if not _probe(choices, supernet.channels, device, hashed):
            break
    seconds = time.perf_counter() - started
    noise = _noise_clause(mixed, supernet)
    reason = unavailable(device.type)
    if reason is not None:
        return Prepared(f"mixed activation: fused, eager (not compiled: {reason}){noise}", seconds)
    return Prepared(
        f"mixed activation: fused, compiled kernels (torch.compile, {backend_name(device)}; "
        f"{seconds:.1f} s to compile or load them){noise}",
        seconds,
    )


def _noise_clause(mixed: list[Sequence[str]], supernet) -> str:
    """``; rrelu: noise hashed in the kernels (supernet.rrelu_noise)`` where a mixed factor has
    a choice whose fused form has a hashed variant (the setting changes its numbers), else
    ``""``: the header says which random numbers a space's noisy activations use."""
    from factorspace.ops.fused import HASHED_FORMS
    from factorspace.registry import ACTIVATIONS

    names = [
        name
        for name in dict.fromkeys(n for choices in mixed for n in choices)
        if type(ACTIVATIONS.get(name).build(supernet.channels)) in HASHED_FORMS
    ]
    if not names:
        return ""
    how = {"hashed": "noise hashed in the kernels", "torch": "torch's random draws"}
    return f"; {', '.join(names)}: {how[supernet.rrelu_noise]} (supernet.rrelu_noise)"


def _probe(choices: Sequence[str], channels: int, device: torch.device, hashed: bool) -> bool:
    """Run the value and backward kernels of ``choices`` once (which compiles them), train and
    eval, ``hashed`` as :func:`~factorspace.ops.fused.fused_mix` takes it; ``False`` where they
    cannot run (the reason in :func:`unavailable`)."""
    from factorspace.ops.fused import fused_mix
    from factorspace.registry import ACTIVATIONS

    if unavailable(device.type) is not None:
        return False
    modules = [ACTIVATIONS.get(name).build(channels).to(device) for name in choices]
    devices = [device] if device.type == "cuda" else []
    quiet = logging.getLogger("torch.utils.cpp_extension")  # "No CUDA runtime" on a CPU box
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with torch.random.fork_rng(devices=devices):
            # 2**16 elements or more: inductor compiles reductions over few elements apart (a
            # search's edge inputs are larger; a tiny test's smaller ones compile once more)
            batch = -(-(2**16) // (channels * 256))
            x = torch.randn(batch, channels, 16, 16, device=device, requires_grad=True)
            w = torch.full((len(modules),), 1 / len(modules), device=device, requires_grad=True)
            fused_mix(x, w, modules, hashed).sum().backward()
            with torch.no_grad():
                for m in modules:
                    m.eval()
                fused_mix(x.detach(), w.detach(), modules, hashed)
    finally:
        quiet.setLevel(level)
    return unavailable(device.type) is None
