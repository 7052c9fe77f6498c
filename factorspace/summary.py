"""What a space costs before a GPU is spent: candidates, parameters, size, activation memory."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from factorspace.compile import Space, Supernet, compile_supernet
from factorspace.compile.supernet import build_supernet
from factorspace.schema import Recipe, SupernetConfig
from factorspace.schema.limits import memory_bytes, tensors_per_edge
from factorspace.schema.recipe import search_sizes


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def weight_count(net: Supernet) -> int:
    """The supernet's weights (the paper's omega): every parameter but the architecture."""
    return sum(p.numel() for p in net.weight_parameters())


def joint_weight_counts(space: Space, config: SupernetConfig, net: Supernet) -> dict[str, int]:
    """A joint space's supernet weights under each ``supernet.joint_weights``: ``net`` (built
    with ``config``) counts its own variant; the other is built here, on the CPU, without
    touching the caller's random state."""
    mine = config.joint_weights
    other = "shared" if mine == "separate" else "separate"
    with torch.random.fork_rng(devices=[]):
        other_net = build_supernet(space, config.model_copy(update={"joint_weights": other}))
    counts = {mine: weight_count(net), other: weight_count(other_net)}
    return {variant: counts[variant] for variant in ("separate", "shared")}


def activation_bytes_per_image(model: nn.Module, channels: int, image_size: int) -> int:
    """Bytes of every leaf module's output for one image: what a training step keeps for backward.

    An estimate (fp32; autograd may keep a little more or less), measured by one forward pass.
    """
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel() * output.element_size()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, channels, image_size, image_size))
        model.train(was_training)
    finally:
        for h in handles:
            h.remove()
    return total


def estimated_search_bytes(recipe: Recipe) -> int:
    """The arithmetic estimate of one fp32 search step's memory that ``validate`` compares with
    ``limits.memory`` (:mod:`factorspace.schema.limits`): no supernet is built, so it is known
    for sizes that could never be allocated. :func:`activation_bytes_per_image` measures."""
    return memory_bytes(search_sizes(recipe), tensors_per_edge(recipe.space))


def space_summary(recipe: Recipe, *, measure_memory: bool = True) -> dict[str, Any]:
    """The facts ``factorspace space`` prints, as a JSON-ready dict.

    ``estimated_search_gib`` is :func:`estimated_search_bytes` (weights and one batch, fp32), the
    figure ``limits.memory`` bounds.

    ``supernet_weights`` counts the supernet as configured; a joint space adds ``joint_weights``
    (the configured variant) and ``supernet_weights_separate`` / ``supernet_weights_shared``
    (both variants, one of them equal to ``supernet_weights``).
    """
    space = Space(recipe.space)
    net = compile_supernet(space, recipe.supernet)
    arch = {f: sum(p.numel() for p in ps) for f, ps in net.arch_parameters().items()}
    size = space.space_size()
    summary: dict[str, Any] = {
        "name": recipe.name,
        "mode": space.mode,
        "factors": [
            {
                "name": f.name,
                "role": f.role,
                "choices": list(f.choices),
                "applies_to": space_applies(space, f.name),
                "searched": f.name in arch or (space.mode == "joint" and len(f.choices) > 1),
            }
            for f in recipe.space.factors
        ],
        "candidates_per_edge": len(space.candidates),
        "non_zero_candidates_per_edge": space.kept_choices_per_edge,
        "edges_per_cell": space.edges_per_cell,
        "arch_parameters_per_edge": {f: space.arch_width(f) for f in space.searched_factors},
        "arch_parameters": arch,
        "supernet_weights": weight_count(net),
        "cell_size": space.cell_size(),
        "space_size": size,
        "space_size_sci": f"{size:.2g}",
        "estimated_search_gib": round(estimated_search_bytes(recipe) / 2**30, 2),
    }
    if space.mode == "joint":  # the configured variant and the other one (compile.edge)
        summary["joint_weights"] = recipe.supernet.joint_weights
        for variant, n in joint_weight_counts(space, recipe.supernet, net).items():
            summary[f"supernet_weights_{variant}"] = n
    if measure_memory:
        summary["activation_mib_per_image"] = round(
            activation_bytes_per_image(net, recipe.supernet.in_channels, recipe.data.image_size)
            / 2**20,
            2,
        )
    return summary


def space_applies(space: Space, factor: str) -> list[str]:
    op_factor = space.config.operator.name
    if factor == op_factor:
        return []
    return [op for op, fs in space.factors_by_op.items() if any(f.name == factor for f in fs)]
