"""What do RReLU's random slopes cost A-DARTS? One process, interleaved, against DARTS.

    OMP_NUM_THREADS=1 python scripts/rrelu_draws_ab.py [--batch-size 16] [--repeats 7]
        [--set key=value ...]

The fused mixed activation draws RReLU's training slopes one of two ways
(``supernet.rrelu_noise``): ``torch``, as ``F.rrelu`` does (one Mersenne Twister draw per
non-positive input, in NCHW order, kept for the backward pass), or ``hashed`` (the default since
2026-12-07: a hash of one seed and each element's position, computed inside the kernels and again
in the backward pass). This script builds DARTS's and A-DARTS's search supernets
(``recipes/darts_cifar.yaml``, ``recipes/adarts_cifar.yaml``, simultaneous update, ``--set``
applied to both) in one process and times one forward and backward pass, interleaved, four
ways: DARTS; A-DARTS with torch's draws; A-DARTS hashed; and A-DARTS with the slopes drawn by one
``uniform_`` over every element in the input's layout (an experiment of 2026-12-07, patched into
this process only). The A-DARTS ways share one supernet, its edges' mixing switched between
calls. Prints the medians (wall and CPU) and each one's ratio to DARTS in CPU time.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from torch import nn

from factorspace.bench import bench_setup, interleaved_medians
from factorspace.ops import fused
from factorspace.ops.activations import _leaky_form, _step
from factorspace.ops.fused import FusedForm


def uniform_slopes_form(m: nn.RReLU, x: torch.Tensor) -> FusedForm:
    """RReLU's fused form with its slopes drawn by one ``uniform_`` (the experiment)."""
    if not m.training:
        return _leaky_form((m.lower + m.upper) / 2)
    with torch.no_grad():
        u = torch.empty_like(x).uniform_(m.lower, m.upper)

    def slope(x, u):
        positive = _step(x)
        return positive + (1 - positive) * u

    return FusedForm(
        lambda x, u: x * slope(x, u), lambda x, v, u: slope(x, u), (u,), key=("rrelu_uniform",)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--set", action="append", default=[], help="override a recipe field")
    args = parser.parse_args()
    torch.set_num_threads(1)
    setups = {
        name: bench_setup(f"recipes/{name}.yaml", args.set, "cpu", args.batch_size, "simultaneous")
        for name in ("darts_cifar", "adarts_cifar")
    }
    torch_draws = fused.FUSED_FORMS[nn.RReLU]
    ways = {  # (recipe, hashed, RReLU's form when not hashed)
        "darts": ("darts_cifar", False, torch_draws),
        "a-darts, torch's draws": ("adarts_cifar", False, torch_draws),
        "a-darts, hashed": ("adarts_cifar", True, torch_draws),
        "a-darts, uniform_ draws": ("adarts_cifar", False, uniform_slopes_form),
    }

    def forward_backward(way: str):
        recipe, hashed, form = ways[way]
        fused.FUSED_FORMS[nn.RReLU] = form
        setups[recipe].net.set_mixing(partial(fused.fused_mix, hashed=hashed))
        setups[recipe].forward_backward()

    calls = {way: (lambda way=way: forward_backward(way)) for way in ways}
    try:  # one warm-up each: compiles each form's kernels
        medians = interleaved_medians(calls, torch.device("cpu"), args.repeats, warmup=1)
    finally:
        fused.FUSED_FORMS[nn.RReLU] = torch_draws
    print(
        f"forward+backward, batch {args.batch_size}, one thread, median of {args.repeats} "
        "interleaved (s, wall and CPU; ratio to DARTS in CPU time)"
    )
    for way, (wall, cpu) in medians.items():
        print(f"  {way:24s} {wall:8.3f} {cpu:8.3f}  {cpu / medians['darts'][1]:.3f}x")


if __name__ == "__main__":
    main()
