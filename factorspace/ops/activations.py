"""The paper's nine activations (the "activation operator group"), registered by name.

Each edge gets its own instance, so learned activations (PReLU's slope, Swish's b) are per edge.
Each also declares its fused form (value, derivative, parameter gradients) for
:func:`factorspace.ops.fused.fused_mix`: torch's modules with :func:`register_fused_form`,
:class:`Swish` with its ``fused_form`` method.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from factorspace.ops.fused import FusedForm, layout, register_fused_form
from factorspace.ops.hashed import draw_seed, hashed_uniform
from factorspace.registry import register_activation

# torch's SELU constants (Klambauer et al. 2017), as aten's selu uses them
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Swish(nn.Module):
    """x * sigmoid(b * x) with a learned coefficient b (Ramachandran et al. 2018), b initialised to 1."""

    def __init__(self) -> None:
        super().__init__()
        self.b = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.b * x)

    def fused_form(self, x: torch.Tensor) -> FusedForm:
        return FusedForm(_swish, _swish_derivative, (self.b,), _swish_grads, key=("swish",))


def _swish(x, b):
    return x * torch.sigmoid(b * x)


def _swish_derivative(x, v, b):
    # d/dx x s(bx) = s + b x s (1 - s) = s + b v (1 - s)
    s = torch.sigmoid(b * x)
    return s + b * v * (1 - s)


def _swish_grads(x, g, b):
    # d/db x s(bx) = x^2 s (1 - s)
    s = torch.sigmoid(b * x)
    return ((g * x * x * s * (1 - s)).sum().reshape(b.shape),)


# The derivatives avoid torch.where and comparisons: on this CPU they run 10-40x slower than
# arithmetic (not vectorised); sign, clamp and multiply-adds are (docs/performance.md).


def _step(x: torch.Tensor) -> torch.Tensor:
    """1 where ``x > 0``, else 0 (torch's activations take the left derivative at 0)."""
    return x.sign().clamp_min_(0)


def _leaky_derivative(x: torch.Tensor, slope) -> torch.Tensor:
    """1 where ``x > 0``, else ``slope`` (a number or a tensor broadcast against ``x``)."""
    return _step(x).mul_(1 - slope).add_(slope)


def _elu(x: torch.Tensor, alpha: float, scale: float = 1.0, input_scale: float = 1.0):
    """torch's ELU family, ``scale * (x if x > 0 else alpha * (exp(input_scale * x) - 1))``,
    computed as ``scale * (relu(x) + alpha * (exp(input_scale * min(x, 0)) - 1))`` (equal: the
    second term is 0 where x > 0) with ``exp(.) - 1`` where torch uses ``expm1``: vectorised
    ops, about 10x faster on this CPU than torch's ELU loop; equal to rounding."""
    negative = x.clamp(max=0)
    e = torch.exp(negative if input_scale == 1 else negative.mul_(input_scale)).sub_(1)
    v = (e if alpha == 1 else e.mul_(alpha)).add_(torch.relu(x))
    return v.mul_(scale) if scale != 1.0 else v


def _elu_derivative(x: torch.Tensor, v: torch.Tensor, alpha: float, scale: float = 1.0):
    """``scale`` where x > 0, else ``scale * alpha * exp(x)``, which is ``v + scale * alpha``:
    ``min(v, 0) + scale * alpha``, plus ``scale - scale * alpha`` where x > 0 (none if equal)."""
    d = v.clamp(max=0).add_(scale * alpha)
    return d if scale == scale * alpha else d.add_(_step(x).mul_(scale - scale * alpha))


def _celu_derivative(v: torch.Tensor, alpha: float) -> torch.Tensor:
    """1 where x > 0, else ``exp(x / alpha) = v / alpha + 1``: ``min(v, 0) / alpha + 1``."""
    d = v.clamp(max=0)
    return (d if alpha == 1 else d.div_(alpha)).add_(1)


def _channel_view(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """PReLU's weight broadcast as torch's prelu does: one value, or one per channel (axis 1)."""
    if weight.numel() == 1 or x.dim() < 2:
        return weight.reshape(())
    return weight.reshape(1, -1, *([1] * (x.dim() - 2)))


def _prelu_grads(x, g, weight):
    # dL/da = sum of g * x where x <= 0 (per channel, or over everything for one slope)
    term = x.clamp(max=0).mul_(g)
    if weight.numel() == 1 or x.dim() < 2:
        return (term.sum().reshape(weight.shape),)
    dims = [d for d in range(x.dim()) if d != 1]
    return (term.sum(dims),)


@register_fused_form(nn.ReLU)
def _relu_form(m: nn.ReLU, x: torch.Tensor) -> FusedForm:
    return FusedForm(F.relu, lambda x, v: _step(x), key=("relu",))


@register_fused_form(nn.ReLU6)
def _relu6_form(m: nn.ReLU6, x: torch.Tensor) -> FusedForm:
    # hardtanh(0, 6)'s backward passes the gradient strictly inside (0, 6)
    return FusedForm(F.relu6, lambda x, v: _step((6 - x).mul_(x)), key=("relu6",))  # x(6-x) > 0


@register_fused_form(nn.LeakyReLU)
def _leaky_relu_form(m: nn.LeakyReLU, x: torch.Tensor) -> FusedForm:
    return _leaky_form(m.negative_slope)


def _leaky_form(a: float) -> FusedForm:
    """LeakyReLU with slope ``a`` (also RReLU in eval: the mean slope)."""
    return FusedForm(
        lambda x: F.leaky_relu(x, a), lambda x, v: _leaky_derivative(x, a), key=("leaky_relu", a)
    )


@register_fused_form(nn.PReLU)
def _prelu_form(m: nn.PReLU, x: torch.Tensor) -> FusedForm:
    return FusedForm(
        F.prelu,
        lambda x, v, a: _leaky_derivative(x, _channel_view(a, x)),
        (m.weight,),
        _prelu_grads,
        key=("prelu",),
    )


@register_fused_form(nn.RReLU)
def _rrelu_form(m: nn.RReLU, x: torch.Tensor) -> FusedForm:
    if not m.training:  # the mean slope (torch's rrelu in eval)
        return _leaky_form((m.lower + m.upper) / 2)
    # training: the slopes F.rrelu would draw, drawn here by the same kernel on a tensor laid
    # out as F.rrelu's (1 where x > 0); the activation is x * slope, its derivative the slope.
    # They are kept for the backward pass, laid out as x (one copy here, none in the passes).
    with torch.no_grad():
        slopes = torch.empty_like(x, memory_format=torch.contiguous_format)
        torch.ops.aten.rrelu_with_noise(x, slopes, m.lower, m.upper, True)
        slopes = slopes.contiguous(memory_format=layout(x))
    return FusedForm(torch.mul, lambda x, v, s: s, (slopes,), key=("rrelu",))


@register_fused_form(nn.RReLU, hashed=True)
def _rrelu_hashed_form(m: nn.RReLU, x: torch.Tensor) -> FusedForm:
    """RReLU (``supernet.rrelu_noise: hashed``): in training each slope is ``lower + (upper -
    lower) u`` with ``u`` :func:`~factorspace.ops.hashed.hashed_uniform` of one seed drawn here
    and the element's position; torch's uniform distribution on ``[lower, upper)``, other
    numbers than torch's, computed inside the kernels and recomputed in the backward pass."""
    if not m.training:
        return _leaky_form((m.lower + m.upper) / 2)
    lower, width = m.lower, m.upper - m.lower

    def slope(x, index, seed):  # 1 where x > 0 (x <= 0 draws, as torch's rrelu)
        return _leaky_derivative(x, hashed_uniform(index, seed, x.dtype).mul_(width).add_(lower))

    return FusedForm(
        lambda x, index, seed: x * slope(x, index, seed),
        lambda x, v, index, seed: slope(x, index, seed),
        (draw_seed(x),),
        key=("rrelu_hashed", m.lower, m.upper),
        positional=True,
    )


@register_fused_form(nn.ELU)
def _elu_form(m: nn.ELU, x: torch.Tensor) -> FusedForm:
    a = m.alpha
    return FusedForm(lambda x: _elu(x, a), lambda x, v: _elu_derivative(x, v, a), key=("elu", a))


@register_fused_form(nn.CELU)
def _celu_form(m: nn.CELU, x: torch.Tensor) -> FusedForm:
    a = m.alpha
    return FusedForm(
        lambda x: _elu(x, a, 1.0, 1 / a), lambda x, v: _celu_derivative(v, a), key=("celu", a)
    )


@register_fused_form(nn.SELU)
def _selu_form(m: nn.SELU, x: torch.Tensor) -> FusedForm:
    return FusedForm(
        lambda x: _elu(x, SELU_ALPHA, SELU_SCALE),
        lambda x, v: _elu_derivative(x, v, SELU_ALPHA, SELU_SCALE),
        key=("selu",),
    )


register_activation("relu")(lambda c: nn.ReLU())
register_activation("relu6")(lambda c: nn.ReLU6())
register_activation("leaky_relu")(lambda c: nn.LeakyReLU())
register_activation("prelu", description="one learned slope per edge")(lambda c: nn.PReLU())
register_activation("rrelu", description="random slope in training, mean slope in eval")(
    lambda c: nn.RReLU()
)
register_activation("elu")(lambda c: nn.ELU())
register_activation("celu")(lambda c: nn.CELU())
register_activation("selu")(lambda c: nn.SELU())
register_activation("swish", description="x*sigmoid(b*x), learned b")(lambda c: Swish())
