"""`factorspace search`: the main job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from factorspace.cli.app import RecipeArg, SetOpt, app, out, reports_errors
from factorspace.loader import load_recipe

DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N")]


@app.command()
@reports_errors
def search(
    recipe: RecipeArg,
    set_: SetOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="run directory (default: runs/NAME-TIME)")
    ] = None,
    device: DeviceOpt = "auto",
    seed: Annotated[int | None, typer.Option(help="overrides search.seed")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out")] = False,
) -> None:
    """Search a recipe's space, derive the genotype, and leave a run directory."""
    from factorspace.search import search as run_search

    r = load_recipe(recipe, set_ or [])
    result = run_search(r, out=out_dir, device=device, seed=seed, resume=resume, console=out)
    out.print(f"genotype: {result.run_dir / 'genotype.json'}")
    out.print(f"run directory: {result.run_dir}")
