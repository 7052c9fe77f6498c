"""Which wins on this CPU: factorspace's depthwise and BatchNorm kernels, or torch's own?

    OMP_NUM_THREADS=1 python scripts/kernel_check.py [--sizes paper|quickstart|tiny|both] [--repeats 5]
    OMP_NUM_THREADS=1 python scripts/kernel_check.py --supernet RECIPE [--batch-size N] [--set k=v]

factorspace.ops.kernels replaces two of torch's CPU backward kernels with exact rewrites that
were faster on the CPU they were measured on (docs/performance.md). Whether they still win
depends on the CPU (its vector units, caches) and on torch's version. This script times, for each
depthwise convolution of DARTS's menu (3x3 and 5x5, dilation 1 and 2, stride 1 and 2) and for
training-mode affine-free BatchNorm, a forward and backward pass (input and weight gradients) of
factorspace's module and of torch's, channels_last, one thread, at the feature-map sizes of a
search supernet: the paper's (batch 64; 16 channels at 32 px, 32 at 16 px, 64 at 8 px) and the
quick start's (batch 32; 8 at 16 px, 16 at 8 px, 32 at 4 px). Each figure is the best of three
medians of ``--repeats`` passes, the two modules alternating. It prints one row per case with
the ratio ours / torch's (below 1: ours is faster). It measures; it changes nothing.

``--supernet RECIPE`` answers the same question in place: one forward and backward pass of the
recipe's search supernet (``factorspace.bench.bench_setup``, simultaneous update) with
factorspace's BatchNorm fast path, then with torch's BatchNorm everywhere (the fast path's size
threshold raised for this process), alternating, the median CPU seconds of ``--repeats`` each.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from factorspace.ops import kernels
from factorspace.ops.kernels import BatchNorm2d, DepthwiseConv2d

SIZES = {
    "paper": [(64, 16, 32), (64, 32, 16), (64, 64, 8)],
    "quickstart": [(32, 8, 16), (32, 16, 8), (32, 32, 4)],
    "tiny": [(2, 4, 8)],  # a check that it runs (tests); below the fast paths' sizes
}
# (kernel, dilation, stride): DARTS's sep_conv (dilation 1) and dil_conv (dilation 2) layers
DEPTHWISE = [(3, 1, 1), (5, 1, 1), (3, 2, 1), (5, 2, 1), (3, 1, 2), (5, 1, 2), (3, 2, 2), (5, 2, 2)]


def pass_ms(module: nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Median milliseconds of a forward pass and the gradients of its input and parameters."""
    inputs = [x, *module.parameters()]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.autograd.grad(module(x).square().sum(), inputs)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def compare(ours: nn.Module, theirs: nn.Module, x: torch.Tensor, repeats: int) -> tuple:
    """Best of three alternating medians for each module, after one untimed pass each."""
    for m in (ours, theirs):
        pass_ms(m, x, 1)
    a, b = [], []
    for _ in range(3):
        a.append(pass_ms(ours, x, repeats))
        b.append(pass_ms(theirs, x, repeats))
    return min(a), min(b)


def cases(sizes: list[tuple[int, int, int]]):
    """(label, our module, torch's module, input) for every case at ``sizes``."""
    layout = torch.channels_last
    for batch, channels, pixels in sizes:
        x = torch.randn(batch, channels, pixels, pixels).contiguous(memory_format=layout)
        x.requires_grad_()
        for kernel, dilation, stride in DEPTHWISE:
            padding = dilation * (kernel - 1) // 2
            ours = DepthwiseConv2d(channels, kernel, stride, padding, dilation)
            theirs = nn.Conv2d(channels, channels, kernel, stride, padding, dilation,
                               groups=channels, bias=False)  # fmt: skip
            theirs.weight.data.copy_(ours.weight.data)
            label = f"depthwise {kernel}x{kernel} dil {dilation} stride {stride}"
            yield (f"b{batch} c{channels} {pixels}px {label}", ours.to(memory_format=layout),
                   theirs.to(memory_format=layout), x)  # fmt: skip
        yield (f"b{batch} c{channels} {pixels}px BatchNorm (training, affine-free)",
               BatchNorm2d(channels, affine=False), nn.BatchNorm2d(channels, affine=False), x)  # fmt: skip


def supernet_batch_norm(recipe: str, overrides: list[str], batch: int | None, repeats: int):
    """Median CPU seconds of the recipe's supernet forward/backward with our BatchNorm fast path
    and with torch's, alternating."""
    from factorspace.bench import bench_setup, interleaved_medians

    setup = bench_setup(recipe, overrides, "cpu", batch, "simultaneous")
    ours_threshold = kernels.BATCH_NORM_MIN_ELEMENTS

    def forward_backward(threshold: int) -> None:
        kernels.BATCH_NORM_MIN_ELEMENTS = threshold
        setup.forward_backward()

    ways = {"ours": ours_threshold, "torch": 2**62}  # torch: no tensor reaches the threshold
    calls = {name: (lambda t=threshold: forward_backward(t)) for name, threshold in ways.items()}
    try:
        medians = interleaved_medians(calls, setup.device, repeats, warmup=1)
    finally:
        kernels.BATCH_NORM_MIN_ELEMENTS = ours_threshold
    return setup.batch_size, {name: cpu for name, (_, cpu) in medians.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=[*SIZES, "both"], default="both")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--supernet", metavar="RECIPE", help="time RECIPE's supernet both ways")
    parser.add_argument("--batch-size", type=int, help="with --supernet (default: the recipe's)")
    parser.add_argument("--set", action="append", default=[], help="with --supernet")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.supernet:
        batch, cpu = supernet_batch_norm(args.supernet, args.set, args.batch_size, args.repeats)
        print(
            f"{args.supernet}, batch {batch}, {args.threads} thread(s): forward+backward CPU s, "
            f"median of {args.repeats}: our BatchNorm {cpu['ours']:.3f}, torch's "
            f"{cpu['torch']:.3f} ({cpu['torch'] / cpu['ours']:.3f}x)"
        )
        return
    sizes = SIZES["paper"] + SIZES["quickstart"] if args.sizes == "both" else SIZES[args.sizes]
    print(f"forward+backward, channels_last, {args.threads} thread(s); ms, ours / torch's")
    for label, ours, theirs, x in cases(sizes):
        a, b = compare(ours, theirs, x, args.repeats)
        print(f"  {label:58s} {a:8.2f} {b:8.2f}  {a / b:5.2f}")


if __name__ == "__main__":
    main()
