"""`factorspace validate` and `factorspace space`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from factorspace.cli.app import RecipeArg, SetOpt, app, out, reports_errors
from factorspace.loader import errors_located, load_recipe
from factorspace.summary import space_summary


@app.command()
@reports_errors
def validate(recipe: RecipeArg, set_: SetOpt = None) -> None:
    """Check a recipe; exit 0 if it is valid, 2 with a located message if not."""
    r = load_recipe(recipe, set_ or [])
    out.print(f"{recipe}: valid ({r.space.mode}, {len(r.space.factors)} factors)")


@app.command()
@reports_errors
def space(
    recipe: RecipeArg,
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Describe a recipe's space: factors, candidates, parameters, size, memory."""
    r = load_recipe(recipe, set_ or [])
    with errors_located(recipe, set_ or []):
        summary = space_summary(r)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    print_space(summary)


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
    out.print(
        f"architecture parameters  {sum(s['arch_parameters'].values()):,} {s['arch_parameters']}"
    )
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
