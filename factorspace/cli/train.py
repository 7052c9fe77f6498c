"""`factorspace train`, `eval`, `info` and `export`: re-train a genotype and use the result."""

from __future__ import annotations

import contextlib
import json
import shlex
import warnings
from pathlib import Path
from typing import Annotated, Literal

import typer
import yaml
from pydantic import ValidationError

from factorspace.cli.app import EXIT_CODES, SetOpt, app, err, labelled, out, reports_errors
from factorspace.cli.imports import ImportOpt, import_extensions, may_name_a_file
from factorspace.cli.search import (
    DeviceOpt,
    LogEveryOpt,
    ThreadsOpt,
    check_same_as_recorded,
    refuse_run_dir,
    run_to_resume,
)
from factorspace.errors import FactorspaceError, Interrupted
from factorspace.loader import errors_located
from factorspace.run.atomic import checked_target, written_atomically
from factorspace.run.progress import LOG_EVERY, RunConsole
from factorspace.run.rundir import RunDir

Dataset = Literal["cifar10", "imagenet"]
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


@app.command(epilog=EXIT_CODES)
@reports_errors
def train(
    genotype: Annotated[
        str | None,
        typer.Argument(
            help="a genotype file, a search run directory or a zoo name (with --resume: or the "
            "training run directory)"
        ),
    ] = None,
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
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="continue a run: `--resume RUN` reads its genotype, recipe and --set values "
            "from RUN (`GENOTYPE --out RUN --resume` works too, with the same ones)",
        ),
    ] = False,
    log_every: LogEveryOpt = LOG_EVERY,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps",
            min=1,
            help="stop after N optimizer steps, then evaluate (train.max_steps; the schedule "
            "still spans train.epochs)",
        ),
    ] = None,
    imports: ImportOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Re-train a genotype's network from scratch; leave a run directory with its checkpoint.

    Given a `search --seeds` parent, re-train each run's genotype (into --out/<run>, default
    PARENT/retrain) and report the mean ± std of their test accuracy (summary.json, .csv).
    """
    from factorspace.genotype import resolve_genotype
    from factorspace.retrain.recipe import load_train_recipe
    from factorspace.retrain.train import train as run_train
    from factorspace.run import distributed
    from factorspace.run.threads import use_threads

    import_extensions(imports)
    use_threads(threads)
    if max_steps is not None:
        set_ = [*(set_ or []), f"train.max_steps={max_steps}"]
    if resume and (
        genotype is None or (may_name_a_file(genotype) and _is_train_run(Path(genotype)))
    ):
        out_dir = run_to_resume(Path(genotype) if genotype else None, out_dir, "train")
        if not _is_train_run(out_dir):
            raise FactorspaceError(
                f"{out_dir}: not a `factorspace train` run directory (no run.json, recipe.yaml "
                "with network: and genotype.json) — cannot --resume"
            )
        genotype, recipe = str(RunDir(out_dir).genotype), recipe or RunDir(out_dir).recipe
    elif genotype is None:
        raise FactorspaceError("give a genotype: factorspace train GENOTYPE [--recipe RECIPE]")
    elif (
        resume
        and out_dir is None
        and may_name_a_file(genotype)
        and RunDir(genotype).record.is_file()
    ):
        raise FactorspaceError(
            f"{genotype}: a search run, not a training run; continue it with: factorspace search "
            f"--resume {shlex.quote(genotype)}, or re-train its genotype with: factorspace train "
            f"{shlex.quote(genotype)}"
        )
    elif not resume:
        refuse_run_dir(None, out_dir, "train")
    r = load_train_recipe(recipe, set_ or [])
    if resume and out_dir is not None and RunDir(out_dir).recipe.is_file():
        check_same_as_recorded(out_dir, r, "train")
    from factorspace.retrain.multiseed import format_summary, is_multiseed_parent, train_seeds

    if may_name_a_file(genotype) and is_multiseed_parent(
        genotype
    ):  # `search --seeds` output: re-train each, mean ± std
        out_dir = out_dir or RunDir(genotype).retrain_dir
        again = ["factorspace", "train", genotype, *(["--recipe", str(recipe)] if recipe else [])]
        again += [*(a for s in set_ or [] for a in ("--set", s)), "--out", str(out_dir), "--resume"]
        with errors_located(recipe, set_ or []), hint_on_interrupt(shlex.join(again)):
            summary = train_seeds(
                genotype,
                r,
                out=out_dir,
                device=device,
                resume=resume,
                console=RunConsole(out, log_every=log_every),
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
            log_every=log_every,
        )
    if not ctx.is_main:
        return
    out.print(
        f"test top-1 {100 * result.test_acc:.2f}%  top-5 {100 * result.test_top5:.2f}%",
        highlight=False,
    )
    out.print(f"checkpoint: {RunDir(result.run_dir).checkpoint}", highlight=False, soft_wrap=True)


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
    imports: ImportOpt = None,
) -> None:
    """Top-1 and top-5 accuracy of a trained network on its recipe's test split."""
    from factorspace.retrain.trained import constant_prediction_note, evaluate_checkpoint

    import_extensions(imports)  # a checkpoint's custom operators: imported only when asked
    overrides = [f"data.root={data_root}"] if data_root else []
    result = evaluate_checkpoint(checkpoint, device=device, overrides=[*overrides, *(set_ or [])])
    if "note" in result:  # the run's genotype.json swapped: the checkpoint's own is scored
        err.print(labelled("warning", "yellow", result["note"]), soft_wrap=True)
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
    note = constant_prediction_note(result)
    if note:
        out.print(note, highlight=False)


ExportFormat = Literal["pt2", "onnx", "source", "torchscript"]
EXPORT_SUFFIXES = {".pt2": "pt2", ".onnx": "onnx", ".py": "source"}


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
    output: Annotated[Path, typer.Option("-o", "--output", help="the file to write")],
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            help="pt2: torch.export's program (torch.export.load); onnx: an ONNX graph (needs "
            "factorspace[onnx]); source: one Python file needing only torch (a checkpoint's "
            "weights go next to it as FILE.pt); torchscript: the traced graph (deprecated by "
            "PyTorch 2.9+: use pt2) [default: -o's suffix: .pt2, .onnx or .py]",
        ),
    ] = None,
    dataset: Annotated[
        Dataset, typer.Option(help="for a genotype: which network (a checkpoint knows)")
    ] = "cifar10",
    imports: ImportOpt = None,
) -> None:
    """Export a network for use without factorspace: torch.export, ONNX, Python source."""
    import torch

    from factorspace.genotype import resolve_genotype
    from factorspace.retrain import graph_export
    from factorspace.retrain.export import export_source
    from factorspace.retrain.info import RESOLUTION
    from factorspace.retrain.network import create_model
    from factorspace.retrain.trained import load_trained

    import_extensions(imports)
    fmt = fmt or _export_format(output)
    checked_target(output)  # a directory, a device, a link loop: refused before any work
    if may_name_a_file(source) and _is_checkpoint(Path(source)):
        trained = load_trained(source)
        g, model, network = trained.genotype, trained.model, trained.recipe.network
        side = trained.recipe.data.image_size
    else:
        g = resolve_genotype(source, registered=True)
        model = _checked(create_model, g, dataset, {})
        network, side = None, RESOLUTION[dataset]
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt != "source":
        example = torch.zeros(2, 3, side, side)
        if fmt == "torchscript":
            with warnings.catch_warnings(), written_atomically(output) as tmp:
                # torch 2.9+ deprecates TorchScript; it still works
                warnings.filterwarnings("ignore", r"`torch\.jit", FutureWarning)
                graph_export.export_torchscript(model, tmp, example)
        else:
            exporter = {"pt2": graph_export.export_program, "onnx": graph_export.export_onnx}
            with written_atomically(output) as tmp:  # a failed write leaves no half file
                exporter[fmt](model, tmp, example)
        kind = {"pt2": "torch.export", "onnx": "ONNX", "torchscript": "TorchScript"}[fmt]
        batch = "" if fmt == "torchscript" else ", any batch size"
        out.print(f"wrote {output} ({kind}, {side}x{side} inputs{batch})", highlight=False)
        return
    sizes = network.model_dump(exclude={"dataset"}) if network else {}
    with written_atomically(output) as tmp:
        export_source(g, tmp, network.dataset if network else dataset, **sizes)
    out.print(f"wrote {output} (Python source: build() returns the network)", highlight=False)
    if network is not None:
        weights = output.with_suffix(".pt")
        with written_atomically(weights) as tmp:
            torch.save(model.state_dict(), tmp)
        out.print(f"wrote {weights} (its trained weights: model.load_state_dict)", highlight=False)


def _export_format(output: Path) -> str:
    """The export format an output file's suffix names (``.pt2``, ``.onnx``, ``.py``)."""
    if output.suffix in EXPORT_SUFFIXES:
        return EXPORT_SUFFIXES[output.suffix]
    raise FactorspaceError(
        f"-o {output}: give --format (pt2, onnx, source or torchscript) or a file ending in "
        ".pt2, .onnx or .py"
    )


@contextlib.contextmanager
def hint_on_interrupt(command: str):
    """An interrupted run's hint replaced by ``command``: what continues the whole job."""
    try:
        yield
    except Interrupted as e:
        text, sep, _ = str(e).partition("Continue with: ")
        raise Interrupted(f"{text}{sep or ' Continue with: '}{command}") from None


def _is_train_run(path: Path) -> bool:
    """A `factorspace train` run directory: run.json, genotype.json and a train recipe."""
    paths = RunDir(path)
    if not (path.is_dir() and paths.record.is_file() and paths.genotype.is_file()):
        return False
    try:
        return "network" in (yaml.safe_load(paths.recipe.read_text()) or {})
    except (OSError, yaml.YAMLError, TypeError):
        return False


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
