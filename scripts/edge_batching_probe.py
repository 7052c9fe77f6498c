"""Would batching a cell's edges into grouped convolutions pay? A probe for issue 28, item 5.

    OMP_NUM_THREADS=1 python scripts/edge_batching_probe.py [--edges 8] [--batch 32]
        [--channels 8] [--size 16] [--repeats 20]

At the quick start's sizes a search step is bound by the cost of each call, not by arithmetic
(docs/performance.md, "The quick start"). In a DARTS cell the edges leaving the same node (8 of
14 leave the two cell inputs) could run as one grouped convolution each: the same arithmetic in
fewer, larger calls. This probe times the forward and backward pass of ``--edges`` DARTS
``sep_conv_3x3`` search operations (affine-free BatchNorm, batch statistics), each on its own
input, three ways, interleaved, the median of ``--repeats``:

* ``modules``: factorspace's own operator modules, one per edge, as the supernet runs them;
* ``per edge``: the same arithmetic in plain torch calls, one set of calls per edge;
* ``batched``: the same arithmetic on the edges' inputs concatenated along the channels, one
  grouped call per layer (depthwise: ``groups = edges x channels``; pointwise: ``groups =
  edges``), the weights concatenated from the per-edge parameters inside the timed pass, so that
  gradients reach them as they would in a supernet.

It prints the three medians, the speed-up of ``batched`` over ``per edge``, and the largest
difference between their outputs and input gradients (grouped kernels may sum in another order).
It measures; it changes nothing in factorspace.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from factorspace.bench import interleaved_medians
from factorspace.registry import OPERATORS


def per_edge_layers(module: torch.nn.Sequential) -> tuple[list[torch.Tensor], int]:
    """The depthwise and pointwise weights of a search ``sep_conv`` module, in order, and its
    depthwise kernel size."""
    weights = [m.weight for m in module if isinstance(m, torch.nn.Conv2d)]
    return weights, weights[0].shape[-1]


def sep_conv_plain(x: torch.Tensor, weights: list[torch.Tensor], k: int) -> torch.Tensor:
    """DARTS's SepConv without its leading ReLU, in plain torch calls (stride 1)."""
    dw1, pw1, dw2, pw2 = weights
    c = x.shape[1]
    h = F.conv2d(x, dw1, padding=k // 2, groups=c)
    h = F.batch_norm(F.conv2d(h, pw1), None, None, training=True)
    h = F.conv2d(F.relu(h), dw2, padding=k // 2, groups=c)
    return F.batch_norm(F.conv2d(h, pw2), None, None, training=True)


def sep_conv_batched(xs: list[torch.Tensor], weights: list[list[torch.Tensor]], k: int):
    """The same for every edge at once: inputs and weights concatenated, grouped calls."""
    edges, c = len(xs), xs[0].shape[1]
    x = torch.cat(xs, dim=1)
    dw1, pw1, dw2, pw2 = (torch.cat(ws, dim=0) for ws in zip(*weights, strict=True))
    h = F.conv2d(x, dw1, padding=k // 2, groups=edges * c)
    h = F.batch_norm(F.conv2d(h, pw1, groups=edges), None, None, training=True)
    h = F.conv2d(F.relu(h), dw2, padding=k // 2, groups=edges * c)
    out = F.batch_norm(F.conv2d(h, pw2, groups=edges), None, None, training=True)
    return list(out.split(c, dim=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = (args.batch, args.channels, args.size, args.size)
    modules = [
        OPERATORS.get("sep_conv_3x3").build(args.channels, 1, False) for _ in range(args.edges)
    ]
    modules = [m.to(memory_format=torch.channels_last) for m in modules]
    layers = [per_edge_layers(m) for m in modules]
    weights, k = [w for w, _ in layers], layers[0][1]
    xs = [
        torch.randn(shape).contiguous(memory_format=torch.channels_last).requires_grad_()
        for _ in range(args.edges)
    ]

    def run(outputs) -> list[torch.Tensor]:
        outs = outputs()
        grads = torch.autograd.grad(sum(o.square().sum() for o in outs), xs)
        return [*outs, *grads]

    ways = {
        "modules": lambda: [m(x) for m, x in zip(modules, xs, strict=True)],
        "per edge": lambda: [sep_conv_plain(x, w, k) for x, w in zip(xs, weights, strict=True)],
        "batched": lambda: sep_conv_batched(xs, weights, k),
    }
    calls = {name: (lambda fn=fn: run(fn)) for name, fn in ways.items()}
    times = interleaved_medians(calls, torch.device("cpu"), args.repeats, warmup=2)
    plain, batched = run(ways["per edge"]), run(ways["batched"])
    diff = max((a - b).abs().max().item() for a, b in zip(plain, batched, strict=True))
    medians = {name: wall * 1e3 for name, (wall, _) in times.items()}
    print(
        f"{args.edges} sep_conv_3x3 edges, batch {args.batch}, {args.channels} channels, "
        f"{args.size} px, {args.threads} thread(s), forward+backward, median of {args.repeats}:"
    )
    for name, ms in medians.items():
        print(f"  {name:9s} {ms:8.2f} ms")
    print(
        f"  batched / per edge: {medians['batched'] / medians['per edge']:.2f}x; largest "
        f"difference in outputs and input gradients: {diff:.2e}"
    )


if __name__ == "__main__":
    main()
