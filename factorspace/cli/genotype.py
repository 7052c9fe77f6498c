"""`factorspace genotype ...` (make new genotype files from old ones) and `factorspace import-darts`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from factorspace.cli.app import app, out, reports_errors
from factorspace.cli.imports import ImportOpt, import_extensions
from factorspace.errors import FactorspaceError, clip
from factorspace.genotype import resolve_genotype, save_genotype
from factorspace.genotype.transform import with_input

genotype_app = typer.Typer(no_args_is_help=True, help="Make new genotype files from old ones.")
app.add_typer(genotype_app, name="genotype")


@genotype_app.command("set-activation")
@reports_errors
def set_activation(
    genotype: Annotated[
        str,
        typer.Argument(help="a genotype file, a run directory, a zoo name or a DARTS string"),
    ],
    activation: Annotated[str, typer.Argument(help="the activation every edge gets, e.g. relu")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the genotype file to write")],
    factor: Annotated[str, typer.Option(help="the input-role factor to set")] = "activation",
    imports: ImportOpt = None,
) -> None:
    """Replace an input factor's choice on every edge (Table 2: "factorized, re-trained with ReLU")."""
    import_extensions(imports)
    changed = with_input(resolve_genotype(genotype, registered=True), activation, factor)
    out.print(f"wrote {save_genotype(changed, output)}", highlight=False, soft_wrap=True)


@app.command("import-darts")
@reports_errors
def import_darts(
    darts: Annotated[
        str,
        typer.Argument(
            help="a DARTS string `Genotype(normal=[...], normal_concat=..., reduce=..., "
            "reduce_concat=...)`, or a .py/.txt file holding one (FILE.py:NAME picks one)"
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="the genotype file to write")],
    recipe: Annotated[
        Path | None,
        typer.Option(
            help="check it is an architecture of this recipe's space (imports its modules)"
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="the genotype's name (default: NAME of FILE.py:NAME)")
    ] = None,
    imports: ImportOpt = None,
) -> None:
    """Convert a DARTS genotype string into a factorspace genotype file (parameterized edges get
    ReLU, as in DARTS); `render`, `info`, `export` and `train` also take the string or file."""
    from factorspace.genotype import check_buildable, check_genotype, from_darts_string
    from factorspace.genotype.darts_files import darts_file_reference, read_darts_file
    from factorspace.loader import load_recipe

    import_extensions(imports)
    space = load_recipe(recipe).space if recipe is not None else None
    reference = darts_file_reference(darts)
    g = read_darts_file(*reference) if reference else from_darts_string(_darts_text(darts))
    if name is not None:
        g = g.model_copy(update={"name": name})
    if space is not None:
        check_genotype(g, space, path=recipe)
    else:
        check_buildable(g)
    out.print(f"wrote {save_genotype(g, output)}", highlight=False, soft_wrap=True)


def _darts_text(darts: str) -> str:
    """``darts`` unless it names a ``.py``/``.txt`` file that is not there."""
    from factorspace.genotype.darts_files import DARTS_SUFFIXES, looks_like_darts_string

    file = darts.rpartition(":")[0] if ":" in darts else darts
    if not looks_like_darts_string(darts) and Path(file).suffix in DARTS_SUFFIXES:
        raise FactorspaceError(f"no file {clip(file)}")
    return darts
