"""`factorspace plant`: the planted-architecture benchmark (docs/evidence.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from factorspace.cli.app import EXIT_CODES, RecipeArg, SetOpt, app, out, reports_errors
from factorspace.cli.search import ThreadsOpt
from factorspace.loader import errors_located, load_recipe


@app.command(epilog=EXIT_CODES)
@reports_errors
def plant(
    recipe: RecipeArg,
    seeds: Annotated[str, typer.Option(help="comma-separated seeds, e.g. 0,1,2")] = "0,1,2",
    genotype: Annotated[
        str | None,
        typer.Option(help="plant this genotype (file, run or zoo name) instead of drawing one"),
    ] = None,
    set_: SetOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="parent directory (default: runs/NAME-TIME-plant)")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N")] = "auto",
    as_json: Annotated[
        bool, typer.Option("--json", help="print plant.json's contents only, no progress")
    ] = False,
    threads: ThreadsOpt = None,
) -> None:
    """Plant a genotype drawn from the space, search on its labels, score the recovery.

    Per seed: a drawn genotype, a random-weight teacher of it labelling the recipe's images, an
    ordinary search on those labels, the derived genotype scored against the planted one beside
    chance. Writes plant.json and plant.csv in --out (docs/evidence.md).
    """
    from factorspace.evidence import plant as run_plant
    from factorspace.genotype import check_genotype, resolve_genotype
    from factorspace.run.threads import use_threads
    from factorspace.search.multiseed import parse_seeds

    use_threads(threads)
    r = load_recipe(recipe, set_ or [])
    planted = None
    if genotype:
        planted = resolve_genotype(genotype, registered=True)
        check_genotype(planted, r.space, path=genotype)
    with errors_located(recipe, set_ or []):
        result = run_plant(
            r,
            parse_seeds(seeds),
            genotype=planted,
            out=out_dir,
            device=device,
            console=None if as_json else out,
        )
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    out.print(recovery_table(result))
    out.print(f"results: {result.out / 'plant.json'}, {result.out / 'plant.csv'}")


def recovery_table(result) -> Table:
    """Factor, recovered (mean over seeds, and per seed), chance."""
    table = Table(
        title=f"recovery over {len(result.seeds)} seed(s), cells: {', '.join(result.cells)}"
    )
    table.add_column("factor")
    table.add_column("recovered", justify="right")
    table.add_column("per seed", justify="right")
    table.add_column("chance", justify="right")
    mean = result.mean()
    for factor, chance in result.chance.items():
        per_seed = " ".join(_share(s.scores[factor].recovered) for s in result.seeds)
        table.add_row(factor, _share(mean[factor]), per_seed, _share(chance))
    return table


def _share(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"
