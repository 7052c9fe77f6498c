"""The teacher: the planted genotype as a network with fixed random weights, and its labels.

The teacher is DARTS's evaluation network (:func:`factorspace.retrain.build_network`) at the
supernet's sizes, without auxiliary head or drop path. Its random weights are made usable in two
data-dependent steps that change no architecture: its BatchNorm statistics are those of the
inputs (one pass in training mode, cumulative averages), so every edge sees inputs of about unit
scale, as in a trained network; and its classifier is standardised per class over the inputs
(mean logit 0, standard deviation 1), so that the argmax labels are spread over the classes
instead of piling on the class a random bias favours.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from factorspace.genotype import Genotype
from factorspace.registry import ACTIVATIONS
from factorspace.retrain import Edge, build_network
from factorspace.schema import Recipe
from factorspace.schema.data import DataConfig
from factorspace.schema.train import NetworkConfig
from factorspace.space import Space

CHUNK = 256  # images per teacher forward


def build_teacher(genotype: Genotype, recipe: Recipe, images: Tensor, seed: int) -> nn.Module:
    """The genotype's network at the recipe's supernet sizes, calibrated on ``images``, in eval
    mode, its weights drawn from ``seed``."""
    config = NetworkConfig(
        channels=recipe.supernet.channels,
        cells=recipe.supernet.cells,
        classes=recipe.supernet.classes,
        auxiliary=False,
        drop_path=0.0,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        teacher = build_network(genotype, config)
        _calibrate_batchnorm(teacher, images)
    _standardise_classifier(teacher, images)
    return teacher.eval().requires_grad_(False)


@torch.no_grad()
def teacher_logits(teacher: nn.Module, images: Tensor) -> Tensor:
    return torch.cat([teacher(chunk) for chunk in images.split(CHUNK)])


def student_view(images: Tensor, data: DataConfig) -> Tensor:
    """What the search's loaders feed the supernet for these images, un-augmented: ``x / 255``,
    normalised by ``data.mean`` and ``data.std`` (:class:`factorspace.data.Images`)."""
    mean = torch.tensor(data.mean).view(1, 3, 1, 1)
    std = torch.tensor(data.std).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


@torch.no_grad()
def _calibrate_batchnorm(teacher: nn.Module, images: Tensor) -> None:
    norms = [m for m in teacher.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average over the calibration batches
    teacher.train()
    for chunk in images.split(CHUNK):
        teacher(chunk)
    teacher.eval()


@torch.no_grad()
def _standardise_classifier(teacher: nn.Module, images: Tensor) -> None:
    logits = teacher_logits(teacher, images)
    mean, std = logits.mean(0), logits.std(0).clamp_min(1e-6)
    classifier = teacher.classifier
    classifier.weight.div_(std[:, None])
    classifier.bias.sub_(mean).div_(std)


@torch.no_grad()
def activation_separation(
    teacher: nn.Module, space: Space, images: Tensor, samples: int = 100_000
) -> dict[str, dict]:
    """Per input factor: the range of the values its planted activations see in the teacher, and
    how far apart its choices are there.

    BatchNorm after each convolution undoes any affine change of an activation's output, so two
    choices are told apart only by the shape of their outputs: the distance reported is
    ``1 - corr(f(x), g(x))`` over the teacher's own edge inputs ``x`` (0: the same up to an affine
    map, indistinguishable).
    """
    seen: dict[str, list[Tensor]] = {}
    hooks = []
    for edge in (m for m in teacher.modules() if isinstance(m, Edge)):
        for factor, transform in edge.inputs.items():
            hooks.append(transform.register_forward_pre_hook(_collector(seen, factor)))
    try:
        teacher_logits(teacher, images[:CHUNK])
    finally:
        for hook in hooks:
            hook.remove()
    report = {}
    for factor, chunks in seen.items():
        x = torch.cat([c.flatten() for c in chunks])
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:samples]]
        report[factor] = _separation(x, space.config.factor(factor).choices)
    return report


def _collector(seen: dict[str, list[Tensor]], factor: str):
    def hook(module, args):
        seen.setdefault(factor, []).append(args[0].detach())

    return hook


def _separation(x: Tensor, choices: list[str]) -> dict:
    outs = {
        name: ACTIVATIONS.get(name).build(1).eval()(x.view(1, 1, -1, 1)).flatten()
        for name in choices
    }
    pairs = {
        f"{a}/{b}": round(1 - float(torch.corrcoef(torch.stack([outs[a], outs[b]]))[0, 1]), 4)
        for a, b in itertools.combinations(choices, 2)
    }
    q = torch.quantile(x, torch.tensor([0.01, 0.5, 0.99])).tolist()
    return {
        "input_quantiles_1_50_99": [round(v, 3) for v in q],
        "distance": pairs,
        "min_distance": min(pairs.values(), default=None),
    }
