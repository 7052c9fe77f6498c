"""`factorspace genotype ...`: make new genotype files from old ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from factorspace.cli.app import app, out, reports_errors
from factorspace.genotype import resolve_genotype, save_genotype
from factorspace.genotype.transform import with_input

genotype_app = typer.Typer(no_args_is_help=True, help="Make new genotype files from old ones.")
app.add_typer(genotype_app, name="genotype")


@genotype_app.command("set-activation")
@reports_errors
def set_activation(
    genotype: Annotated[str, typer.Argument(help="a genotype file, a run directory or a zoo name")],
    activation: Annotated[str, typer.Argument(help="the activation every edge gets, e.g. relu")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the genotype file to write")],
    factor: Annotated[str, typer.Option(help="the input-role factor to set")] = "activation",
) -> None:
    """Replace an input factor's choice on every edge (Table 2: "factorized, re-trained with ReLU")."""
    changed = with_input(resolve_genotype(genotype, registered=True), activation, factor)
    out.print(f"wrote {save_genotype(changed, output)}", highlight=False, soft_wrap=True)
