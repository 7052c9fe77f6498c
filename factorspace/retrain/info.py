"""How big a re-trained network is: parameters and multiply-accumulates, as NAS papers report them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from factorspace.genotype import Genotype, load_genotype, resolve_genotype
from factorspace.retrain.network import create_model
from factorspace.schema.train import NetworkConfig

RESOLUTION = {"cifar10": 32, "imagenet": 224}
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


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
    genotype: Genotype | str | Path,
    dataset: str = "cifar10",
    *,
    resolution: int | None = None,
    **overrides: object,
) -> dict:
    """Parameters and multiply-accumulates of ``genotype``'s network, as papers report them.

    Args:
        genotype: a Genotype, genotype file, run directory or zoo name (see
            :func:`~factorspace.genotype.resolve_genotype`).
        dataset: ``"cifar10"`` (32x32 input) or ``"imagenet"`` (224x224 input).
        resolution: the input side the MACs are counted at (default: the dataset's).
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
    side = resolution or RESOLUTION[dataset]
    return {
        "parameters": total - aux,
        "parameters_with_auxiliary": total,
        "macs": count_macs(model, torch.zeros(1, 3, side, side)),
        "resolution": side,
    }


@dataclass(frozen=True)
class TrainedNetwork:
    """What a re-training trained: the genotype, the network, the image side, and where read."""

    genotype: Genotype
    network: NetworkConfig
    image_size: int
    source: Path


def trained_network(path: str | Path) -> TrainedNetwork | None:
    """The network a `factorspace train` run directory (its ``recipe.yaml`` and
    ``genotype.json``) or training checkpoint (``.pt``, ``.pth``, ``.ckpt``) was trained with;
    None for a path that is neither (a genotype file, a search run).

    Raises:
        FactorspaceError: a checkpoint that is not a readable training checkpoint.
    """
    from factorspace.retrain.recipe import load_train_recipe
    from factorspace.retrain.trained import load_trained
    from factorspace.run.rundir import RunDir

    path = Path(path)
    run = RunDir(path)
    if path.is_dir() and run.record.is_file() and run.genotype.is_file() and _trains(run.recipe):
        recipe = load_train_recipe(run.recipe)
        genotype = load_genotype(run.genotype)
        return TrainedNetwork(genotype, recipe.network, recipe.data.image_size, run.recipe)
    if path.is_file() and path.suffix in CHECKPOINT_SUFFIXES:
        trained = load_trained(path)
        recipe = trained.recipe
        return TrainedNetwork(trained.genotype, recipe.network, recipe.data.image_size, path)
    return None


def _trains(recipe: Path) -> bool:
    from factorspace.loader.kinds import file_kind

    return recipe.is_file() and file_kind(recipe) == "train"
