"""`factorspace validate` and `factorspace space`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from factorspace.cli.app import RecipeArg, SetOpt, app, out, reports_errors
from factorspace.errors import FactorspaceError
from factorspace.loader import errors_located, load_recipe
from factorspace.summary import space_summary


@app.command()
@reports_errors
def validate(
    recipe: Annotated[
        Path, typer.Argument(help="a search recipe, a train recipe or a study (YAML)")
    ],
    set_: SetOpt = None,
) -> None:
    """Check a search recipe, train recipe or study; exit 0 if valid, 2 with a message if not.

    The kind is read from the file's schema line or its keys; a study's recipes are checked too,
    each with its `set:` overrides.

    It imports the modules a recipe's `imports:` names, as every command loading a recipe does:
    a recipe is code you run. Genotypes, checkpoints and DARTS strings import nothing
    (docs/troubleshooting.md, Security).
    """
    from factorspace.loader.kinds import KIND_NAMES, file_kind

    kind = file_kind(recipe)
    if kind == "train":
        from factorspace.retrain.recipe import load_train_recipe

        t = load_train_recipe(recipe, set_ or [])
        what = (
            f"{t.network.dataset}, {t.network.channels} channels, {t.network.cells} cells, "
            f"{t.train.epochs} epochs"
        )
    elif kind == "study":
        from factorspace.study.load import check_study_recipes, load_study

        if set_:
            raise FactorspaceError(
                f"{recipe}: --set changes a recipe; a study's stages carry their own `set:`"
            )
        study = load_study(recipe)
        checked = check_study_recipes(study)
        what = (
            f"{len(study.variants)} variants x {len(study.seeds)} seeds; "
            f"{len(checked)} recipe files checked with their set:"
        )
    else:
        r = load_recipe(recipe, set_ or [])
        what = f"{r.space.mode}, {len(r.space.factors)} factors"
    out.print(f"{recipe}: valid {KIND_NAMES[kind]} ({what})")


@app.command()
@reports_errors
def space(
    recipe: RecipeArg,
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    estimate: Annotated[
        bool,
        typer.Option(
            "--estimate",
            help="time a few real steps and print the whole search's (for a train recipe: the "
            "re-training's) expected time and peak memory",
        ),
    ] = False,
    device: Annotated[str, typer.Option(help="--estimate: auto, cpu, cuda or cuda:N")] = "auto",
    steps: Annotated[int, typer.Option(min=1, help="--estimate: timed steps")] = 5,
    genotype: Annotated[
        str, typer.Option(help="--estimate of a train recipe: the genotype (file, run or zoo)")
    ] = "darts_v2",
) -> None:
    """Describe a recipe's space: factors, candidates, parameters, size, memory.

    With --estimate, also what the whole run will cost on --device (docs/performance.md); a
    train recipe (recipes/train_cifar.yaml) gets the re-training's estimate only.
    """
    if estimate and is_train_recipe(recipe):
        return print_training_estimate(recipe, set_ or [], device, steps, genotype, as_json)
    r = load_recipe(recipe, set_ or [])
    cost = None
    if estimate:  # first: its setup then pays the process's first-build costs, as a search does
        from factorspace.estimate import estimate_search

        with errors_located(recipe, set_ or []):
            cost = estimate_search(r, device=device, steps=steps)
    with errors_located(recipe, set_ or []):
        summary = space_summary(r)
    if cost is not None:
        from dataclasses import asdict

        summary["estimate"] = asdict(cost)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    print_space(summary)
    for line in cost.lines() if cost else []:
        out.print(line)


def is_train_recipe(path: Path) -> bool:
    """A train recipe (its schema line, or ``network``/``train`` sections), not a search recipe."""
    from factorspace.loader.kinds import file_kind

    try:
        return file_kind(path) == "train"
    except FactorspaceError:
        return False  # load_recipe reports it


def print_training_estimate(path, overrides, device, steps, genotype, as_json) -> None:
    from dataclasses import asdict

    from factorspace.estimate import estimate_training
    from factorspace.genotype import resolve_genotype
    from factorspace.retrain.recipe import load_train_recipe

    r = load_train_recipe(path, overrides)
    with errors_located(path, overrides):
        cost = estimate_training(
            resolve_genotype(genotype, registered=True), r, device=device, steps=steps
        )
    if as_json:
        typer.echo(json.dumps({"genotype": genotype, "estimate": asdict(cost)}, indent=2))
        return
    out.print(f"{path}: re-training {genotype}")
    for line in cost.lines():
        out.print(line)


def print_space(s: dict) -> None:
    table = Table(title=f"{s['name'] or 'space'} ({s['mode']})")
    for col in ("factor", "role", "choices", "applies to", "arch params / edge"):
        table.add_column(col)
    per_edge = s["arch_parameters_per_edge"]
    for f in s["factors"]:
        table.add_row(
            f["name"],
            f["role"],
            ", ".join(map(str, f["choices"])),
            ", ".join(f["applies_to"]) or ("-" if f["role"] == "operator" else "all"),
            str(per_edge.get(f["name"], "fixed" if len(f["choices"]) == 1 else "joint")),
        )
    out.print(table)
    out.print(f"candidates per edge      {s['candidates_per_edge']}")
    groups = ", ".join(f"{name} {count:,}" for name, count in s["arch_parameters"].items())
    out.print(f"architecture parameters  {sum(s['arch_parameters'].values()):,} ({groups})")
    out.print(f"supernet weights         {s['supernet_weights']:,}")
    for line in joint_lines(s):
        out.print(line)
    out.print(f"architectures            {s['space_size_sci']} ({s['space_size']:,})")
    if "activation_mib_per_image" in s:
        out.print(f"activation memory        ~{s['activation_mib_per_image']} MiB per image (fp32)")


def joint_lines(s: dict) -> list[str]:
    """For a joint space: which ``supernet.joint_weights`` variant the count above is, and the
    other variant's count with the ``--set`` that builds it."""
    if "joint_weights" not in s:
        return []
    mine = s["joint_weights"]
    other = "shared" if mine == "separate" else "separate"
    return [
        f"{'  joint_weights':<25}{mine} (the count above)",
        f"{'  ' + other + ' variant':<25}{s[f'supernet_weights_{other}']:,} "
        f"(--set supernet.joint_weights={other})",
    ]
