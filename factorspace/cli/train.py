"""`factorspace train`, `eval`, `info` and `export`: re-train a genotype and use the result."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import ValidationError
from rich.table import Table

from factorspace.cli.app import EXIT_CODES, SetOpt, app, out, reports_errors
from factorspace.cli.search import DeviceOpt
from factorspace.errors import FactorspaceError
from factorspace.loader import errors_located
from factorspace.run.rundir import RunDir

GenotypeArg = Annotated[
    str, typer.Argument(help="a genotype file, a search run directory or a zoo name")
]
Dataset = Literal["cifar10", "imagenet"]
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


@app.command(epilog=EXIT_CODES)
@reports_errors
def train(
    genotype: GenotypeArg,
    recipe: Annotated[
        Path | None,
        typer.Option(help="a train recipe, e.g. recipes/train_cifar.yaml [default: DARTS's]"),
    ] = None,
    set_: SetOpt = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="run directory (default: runs/RECIPE-GENOTYPE-TIME)"),
    ] = None,
    device: DeviceOpt = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out")] = False,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps",
            min=1,
            help="stop after N optimizer steps, then evaluate (train.max_steps; the schedule "
            "still spans train.epochs)",
        ),
    ] = None,
) -> None:
    """Re-train a genotype's network from scratch; leave a run directory with its checkpoint.

    Given a `search --seeds` parent, re-train each run's genotype (into --out/<run>, default
    PARENT/retrain) and report the mean ± std of their test accuracy (summary.json, .csv).
    """
    from factorspace.genotype import resolve_genotype
    from factorspace.retrain.recipe import load_train_recipe
    from factorspace.retrain.train import train as run_train
    from factorspace.run import distributed

    if max_steps is not None:
        set_ = [*(set_ or []), f"train.max_steps={max_steps}"]
    r = load_train_recipe(recipe, set_ or [])
    from factorspace.retrain.multiseed import format_summary, is_multiseed_parent, train_seeds

    if is_multiseed_parent(genotype):  # `search --seeds` output: re-train each, mean ± std
        with errors_located(recipe, set_ or []):
            summary = train_seeds(
                genotype,
                r,
                out=out_dir or RunDir(genotype).retrain_dir,
                device=device,
                resume=resume,
                console=out,
            )
        out.print(format_summary(summary), highlight=False)
        return
    g = resolve_genotype(genotype, registered=True)
    with distributed.launch(device) as ctx, errors_located(recipe, set_ or []):
        result = run_train(
            g,
            r,
            out=out_dir,
            device=ctx.device or device,
            resume=resume,
            console=out,
            distributed=ctx,
        )
    if not ctx.is_main:
        return
    out.print(
        f"test top-1 {100 * result.test_acc:.2f}%  top-5 {100 * result.test_top5:.2f}%",
        highlight=False,
    )
    out.print(f"checkpoint: {RunDir(result.run_dir).checkpoint}", highlight=False)


@app.command("eval")
@reports_errors
def eval_(
    checkpoint: Annotated[
        Path, typer.Argument(help="a `factorspace train` checkpoint or its run directory")
    ],
    device: DeviceOpt = "auto",
    data_root: Annotated[
        Path | None, typer.Option("--data-root", help="where the data is now (data.root)")
    ] = None,
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Top-1 and top-5 accuracy of a trained network on its recipe's test split."""
    from factorspace.retrain.trained import evaluate_checkpoint

    overrides = [f"data.root={data_root}"] if data_root else []
    result = evaluate_checkpoint(checkpoint, device=device, overrides=[*overrides, *(set_ or [])])
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    out.print(
        f"{result['checkpoint']} (epoch {result['epoch']}"
        + (f", step {result['step']}" if result["step"] else "")
        + f"), {result['images']:,} test images\n"
        f"top-1 {100 * result['top1']:.2f}%  top-5 {100 * result['top5']:.2f}%  "
        f"loss {result['loss']:.4f}",
        highlight=False,
    )


@app.command()
@reports_errors
def info(
    genotype: GenotypeArg,
    dataset: Annotated[Dataset, typer.Option(help="picks the network and the resolution")] = (
        "cifar10"
    ),
    channels: Annotated[int | None, typer.Option(help="default: DARTS's")] = None,
    cells: Annotated[int | None, typer.Option(help="default: DARTS's")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Parameters (without and with the auxiliary tower) and multiply-accumulates of a network."""
    from factorspace.genotype import resolve_genotype
    from factorspace.retrain.info import model_info

    g = resolve_genotype(genotype, registered=True)
    sizes = {k: v for k, v in {"channels": channels, "cells": cells}.items() if v is not None}
    result = {"genotype": g.name, "dataset": dataset, **_checked(model_info, g, dataset, sizes)}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"{g.name or genotype} on {dataset}", show_header=False)
    table.add_row("parameters", f"{result['parameters'] / 1e6:.2f}M ({result['parameters']:,})")
    table.add_row(
        "with auxiliary tower",
        f"{result['parameters_with_auxiliary'] / 1e6:.2f}M "
        f"({result['parameters_with_auxiliary']:,})",
    )
    res = result["resolution"]
    table.add_row(f"MACs at {res}x{res}", f"{result['macs'] / 1e6:.0f}M ({result['macs']:,})")
    out.print(table)


@app.command()
@reports_errors
def export(
    source: Annotated[
        str,
        typer.Argument(
            help="a training checkpoint or run directory (trained weights), or a genotype file, "
            "search run directory or zoo name (fresh weights)"
        ),
    ],
    fmt: Annotated[
        Literal["torchscript", "source"],
        typer.Option(
            "--format",
            help="torchscript: the traced inference graph; source: one Python file needing "
            "only torch (a checkpoint's weights go next to it as FILE.pt)",
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="the file to write")],
    dataset: Annotated[
        Dataset, typer.Option(help="for a genotype: which network (a checkpoint knows)")
    ] = "cifar10",
) -> None:
    """Export a network for use without factorspace."""
    import torch

    from factorspace.genotype import resolve_genotype
    from factorspace.retrain.export import export_source, export_torchscript
    from factorspace.retrain.info import RESOLUTION
    from factorspace.retrain.network import create_model
    from factorspace.retrain.trained import load_trained

    if _is_checkpoint(Path(source)):
        trained = load_trained(source)
        g, model, network = trained.genotype, trained.model, trained.recipe.network
        side = trained.recipe.data.image_size
    else:
        g = resolve_genotype(source, registered=True)
        model = _checked(create_model, g, dataset, {})
        network, side = None, RESOLUTION[dataset]
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        with warnings.catch_warnings():  # torch 2.9+ deprecates TorchScript; it still works
            warnings.filterwarnings("ignore", r"`torch\.jit", FutureWarning)
            export_torchscript(model, output, torch.zeros(1, 3, side, side))
        out.print(f"wrote {output} (TorchScript, {side}x{side} inputs)", highlight=False)
        return
    sizes = network.model_dump(exclude={"dataset"}) if network else {}
    export_source(g, output, network.dataset if network else dataset, **sizes)
    out.print(f"wrote {output} (Python source: build() returns the network)", highlight=False)
    if network is not None:
        weights = output.with_suffix(".pt")
        torch.save(model.state_dict(), weights)
        out.print(f"wrote {weights} (its trained weights: model.load_state_dict)", highlight=False)


def _fits_in_memory(dataset: str, sizes: dict) -> None:
    """Refuse ``--channels``/``--cells`` whose network (weights and one image) would need more
    than the default ``limits.memory``, before building it (the estimate of a train recipe)."""
    from factorspace.errors import FieldError
    from factorspace.retrain.info import RESOLUTION
    from factorspace.schema.limits import (
        DEFAULT_MEMORY,
        TENSORS_PER_TRAIN_EDGE,
        check_memory,
        train_sizes,
    )
    from factorspace.schema.train import USUAL_SIZES, network_defaults

    net = {**network_defaults(dataset), **sizes}
    if not all(isinstance(net[k], int) and net[k] >= 1 for k in ("channels", "cells")):
        return  # NetworkConfig refuses them
    side, imagenet = RESOLUTION[dataset], dataset == "imagenet"
    shape = train_sizes(net["channels"], net["cells"], side, 1, net["classes"], imagenet)
    reference = {k: ((f"--{k}",), USUAL_SIZES[dataset][k]) for k in ("channels", "cells")}
    try:
        check_memory(shape, TENSORS_PER_TRAIN_EDGE, DEFAULT_MEMORY, reference, "the network", "")
    except FieldError as e:
        raise FactorspaceError(f"{e.loc[0]}: {e.message}") from None


def _is_checkpoint(path: Path) -> bool:
    if path.is_dir():
        return RunDir(path).checkpoint.is_file()
    return path.suffix in CHECKPOINT_SUFFIXES


def _checked(build, genotype, dataset: str, sizes: dict):
    """``build(genotype, dataset, **sizes)``, an unknown operator or bad size reported as input."""
    _fits_in_memory(dataset, sizes)
    try:
        return build(genotype, dataset, **sizes)
    except KeyError as e:
        raise FactorspaceError(f"genotype {genotype.name or ''}: {e.args[0]}") from None
    except ValidationError as e:
        error = e.errors()[0]
        raise FactorspaceError(f"--{error['loc'][0]}: {error['msg']}") from None
