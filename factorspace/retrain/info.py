"""How big a re-trained network is: parameters and multiply-accumulates, as NAS papers report them."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from factorspace.genotype import Genotype, resolve_genotype
from factorspace.retrain.network import create_model

RESOLUTION = {"cifar10": 32, "imagenet": 224}


def count_macs(model: nn.Module, images: torch.Tensor) -> int:
    """Multiply-accumulates of conv and linear layers in one forward of ``images``, per image.

    Bias additions, BatchNorm, pooling, activations and the cell sums are not counted (the
    convention of DARTS and the NAS papers it compares with). The model runs in eval mode, so the
    auxiliary head is excluded; its training mode is restored afterwards.
    """
    total = 0

    def conv(module: nn.Conv2d, _: tuple, out: torch.Tensor) -> None:
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1]
        total += out[0].numel() * (module.in_channels // module.groups) * k

    def linear(module: nn.Linear, _: tuple, out: torch.Tensor) -> None:
        nonlocal total
        total += out[0].numel() * module.in_features

    hooks = [
        m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else linear)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(images[:1])
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return total


def model_info(
    genotype: Genotype | str | Path, dataset: str = "cifar10", **overrides: object
) -> dict:
    """Parameters and multiply-accumulates of ``genotype``'s network, as papers report them.

    Args:
        genotype: a Genotype, genotype file, run directory or zoo name (see
            :func:`~factorspace.genotype.resolve_genotype`).
        dataset: ``"cifar10"`` (32x32 input) or ``"imagenet"`` (224x224 input).
        **overrides: :class:`~factorspace.schema.train.NetworkConfig` sizes (default: DARTS's);
            for an ``nb201`` genotype the benchmark's network's (``channels``, ``cells_per_stage``).

    Returns:
        ``parameters``: weights without the auxiliary tower (what papers report);
        ``parameters_with_auxiliary``: with it (what trains);
        ``macs``: multiply-accumulates of conv and linear layers for one image at ``resolution``,
        auxiliary tower excluded (what NAS papers call FLOPs; see :func:`count_macs`);
        ``resolution``: the input side used.

    Example:
        >>> model_info("darts_v2", "imagenet")["macs"]  # 529.9M; the DARTS paper reports 574M
        529911552
    """
    genotype = resolve_genotype(genotype, registered=True)
    if genotype.cell_family == "darts":
        model = create_model(genotype, dataset, **{**overrides, "auxiliary": True})
    else:  # its family's network (NAS-Bench-201's: C16, N5), no auxiliary tower
        model = create_model(genotype, **overrides)
    total = sum(p.numel() for p in model.parameters())
    head = getattr(model, "auxiliary_head", None)
    aux = sum(p.numel() for p in head.parameters()) if head is not None else 0
    side = RESOLUTION[dataset]
    return {
        "parameters": total - aux,
        "parameters_with_auxiliary": total,
        "macs": count_macs(model, torch.zeros(1, 3, side, side)),
        "resolution": side,
    }
