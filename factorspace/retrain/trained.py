"""A re-trained network: built from a genotype, evaluated, and rebuilt from its checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from factorspace.data import eval_loaders, rebatched
from factorspace.errors import FactorspaceError, clip
from factorspace.genotype import Genotype, import_recorded
from factorspace.retrain.network import build_network
from factorspace.retrain.recipe import validate_train_recipe
from factorspace.run.checkpoint import load_checkpoint
from factorspace.run.device import resolve_device, to_device
from factorspace.run.precision import autocast
from factorspace.run.rundir import RunDir
from factorspace.schema.train import NetworkConfig, TrainRecipe

CHECKPOINT_FORMAT = "factorspace.train"  # a re-training's checkpoint says what it is


@dataclass
class Trained:
    """A network rebuilt from a training checkpoint, with what made it."""

    model: nn.Module  # on the CPU, in eval mode
    genotype: Genotype
    recipe: TrainRecipe
    epoch: int  # epochs completed
    step: int  # steps into the next epoch (a mid-epoch checkpoint)
    path: Path


def build_model(genotype: Genotype, network: NetworkConfig, image_size: int) -> nn.Module:
    """The network on the CPU, freshly initialised; first checked on ``image_size`` inputs.

    Raises:
        FactorspaceError: an operator missing from the registry, or inputs too small for it.
    """
    try:
        with torch.device("meta"):  # costs no memory and draws no random numbers
            meta = build_network(genotype, network)
            meta.train()(torch.empty(2, 3, image_size, image_size))
    except KeyError as e:
        raise FactorspaceError(f"genotype {genotype.name or ''}: {e.args[0]}") from None
    except RuntimeError as e:
        raise FactorspaceError(
            f"{image_size} is too small for this {network.dataset} network "
            f"({str(e).splitlines()[0]}); the auxiliary tower needs 32 on CIFAR-10 and 224 on "
            "ImageNet: raise data.image_size or set network.auxiliary=false",
            field="data.image_size",
        ) from None
    return build_network(genotype, network)


def check_classes(found: int, network: NetworkConfig) -> None:
    """Refuse data whose number of classes differs from the network's."""
    if found != network.classes:
        raise FactorspaceError(
            f"{network.classes}, but the data has {found} classes; set network.classes={found}",
            field="network.classes",
        )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    device: torch.device,
    *,
    precision: str = "fp32",
    check: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Cross-entropy, top-1 and top-5 accuracy of ``model`` (in eval mode) over ``loader``.

    ``precision``: the forward passes' autocast (``fp32``, ``bf16``, ``fp16``); ``check`` is
    called after each batch (a stop request raises there).

    Returns:
        ``{"loss", "top1", "top5", "images", "predicted_classes"}`` (how many classes the model
        gave at least one image: 1 is a constant prediction, see :func:`constant_prediction_note`);
        the model's training mode is restored.
    """
    was_training = model.training
    model.eval()
    loss, top1, top5, n = 0.0, 0, 0, 0
    predicted: set[int] = set()
    try:
        for batch in loader:
            x, y = to_device(batch, device)
            with autocast(device, precision):
                logits = model(x).float()
            loss += float(F.cross_entropy(logits, y, reduction="sum"))
            hits = logits.topk(min(5, logits.size(1)), dim=1).indices == y[:, None]
            top1 += int(hits[:, 0].sum())
            top5 += int(hits.any(1).sum())
            n += y.numel()
            predicted.update(logits.argmax(1).unique().tolist())
            if check is not None:
                check()
    finally:
        model.train(was_training)
    return {
        "loss": loss / max(n, 1),
        "top1": top1 / max(n, 1),
        "top5": top5 / max(n, 1),
        "images": n,
        "predicted_classes": len(predicted),
    }


def constant_prediction_note(result: dict, steps: int | None = None) -> str | None:
    """Why the test accuracy is a class share, where the model gave every image the same class
    (``evaluate``'s ``predicted_classes`` is 1); None otherwise.

    Seen after a few optimizer steps (``train --max-steps 20``: 10.00 % top-1 and 50.00 % top-5
    on the class-balanced bundled test split): BatchNorm's running statistics, an average with
    momentum 0.1 over the steps, still hold the statistics of the early, fast-changing weights,
    so the eval-mode network maps every image to nearly the same features. Recomputing them
    with the final weights gave that network 19.7 % top-1 instead (the training batches' 15.7 %).
    """
    if result.get("predicted_classes", 2) != 1:
        return None
    after = f"after {steps} steps " if steps is not None else "after few steps "
    return (
        "note: every test image was given the same class, so top-1 is that class's share of the "
        f"test images ({100 * result['top1']:.2f} %); {after}this is expected: BatchNorm's "
        "running statistics (a moving average, momentum 0.1) still mix in the statistics of "
        "earlier weights. Train for longer (a few epochs) for a test accuracy that means something"
    )


def load_trained(path: str | Path, overrides: Iterable[str] = ()) -> Trained:
    """Rebuild the network of a training checkpoint (or of a run directory's last one).

    Args:
        path: a training checkpoint, or the run directory holding it.
        overrides: ``dotted.key=value`` changes to the recipe it carries (``data.root=...``).

    Raises:
        FactorspaceError: not a readable training checkpoint, or a bad override.
    """
    path = Path(path)
    if path.is_dir():
        path = RunDir(path).checkpoint
    if not path.is_file():
        raise FactorspaceError(f"{path}: no such checkpoint")
    state = load_checkpoint(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise FactorspaceError(f"{path}: not a checkpoint of `factorspace train`")
    try:
        genotype = Genotype.model_validate(state["genotype"])
        recipe_data = dict(state["recipe"])
    except (KeyError, TypeError, ValueError) as e:  # a crafted or damaged file
        raise not_whole(path, e) from None
    try:  # a checkpoint is data: the modules it names must be imported already (--import)
        import_recorded(genotype)
    except FactorspaceError as e:
        raise FactorspaceError(f"genotype.{e.field}: {e.message}", file=path) from None
    recipe = validate_train_recipe(recipe_data, path, {}, overrides, run_imports=False)
    model = build_model(genotype, recipe.network, recipe.data.image_size)
    try:
        model.load_state_dict(state["model"])
        return Trained(
            model.eval(), genotype, recipe, int(state["epoch"]), int(state["step"]), path
        )
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise not_whole(path, e) from None


def not_whole(path: Path, error: Exception) -> FactorspaceError:
    return FactorspaceError(
        f"{path}: not a whole checkpoint of `factorspace train` ({error.__class__.__name__}: "
        f"{clip(str(error).splitlines()[0] if str(error) else '', 120)})"
    )


def evaluate_checkpoint(
    path: str | Path, *, device: str | torch.device = "auto", overrides: Iterable[str] = ()
) -> dict:
    """Top-1 and top-5 accuracy and loss of a training checkpoint on its recipe's test split.

    Returns:
        :func:`evaluate`'s dict, plus ``epoch``, ``step`` and ``checkpoint``.
    """
    trained = load_trained(path, overrides)
    recipe, device = trained.recipe, resolve_device(device)
    data = eval_loaders(recipe.data, recipe.train.batch_size, seed=recipe.train.seed, device=device)
    check_classes(data.num_classes, recipe.network)
    test = rebatched(data.test, recipe.train.eval_batch)
    result = evaluate(trained.model.to(device), test, device, precision=recipe.train.precision)
    result |= {"epoch": trained.epoch, "step": trained.step, "checkpoint": str(trained.path)}
    note = genotype_note(trained)
    return result | ({"note": note} if note else {})


def genotype_note(trained: Trained) -> str | None:
    """Where the run directory's ``genotype.json`` is not the genotype the checkpoint trained
    (swapped, edited): what is scored. The checkpoint's weights fit its own genotype only, so
    ``eval`` scores that one and says so; None where they agree (or there is no such file)."""
    file = trained.path.parent.parent / "genotype.json"
    if trained.path.parent.name != "checkpoints" or not file.is_file():
        return None
    try:
        recorded = Genotype.model_validate_json(file.read_text())
        same = (recorded.normal, recorded.reduce) == (
            trained.genotype.normal,
            trained.genotype.reduce,
        )
    except (OSError, ValueError):
        same = False
    if same:
        return None
    return (
        f"{file} is not the genotype this checkpoint was trained with; scoring the checkpoint's "
        f"own ({trained.genotype.name or 'unnamed'}), which its weights fit"
    )
