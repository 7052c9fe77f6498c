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
    drawings = draw_seeds(result)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    print_result(result, drawings)


def print_result(result, drawings: list[Path]) -> None:
    """The recovery table and what its rows count, each seed's planted and found cells, and the
    files written."""
    from factorspace.search.progress import genotype_line

    out.print(recovery_table(result))
    for line in SCORE_NOTES:
        out.print(line, highlight=False)
    for seed in result.seeds:
        out.print(f"seed {seed.seed}:", highlight=False)
        for cell in result.cells:
            for who, genotype in (("planted", seed.planted), ("found", seed.found)):
                out.print(f"  {cell:<7} {who:<8} {genotype_line(genotype, cell)}", highlight=False)
    out.print(f"results: {result.out / 'plant.json'}, {result.out / 'plant.csv'}")
    if drawings:
        out.print(f"planted beside found: {', '.join(map(str, drawings))}", highlight=False)


# What each row of the table counts (docs/evidence.md, "Scores and chance").
SCORE_NOTES = (
    "operator: planted edges whose found operator is the planted one",
    "inputs: the inputs (earlier nodes) each node keeps that are the planted ones",
    "other factors (activation...): planted edges with the planted operator found whose choice is "
    "also the planted one",
    "chance: what a genotype drawn uniformly from the space scores on average",
)


def recovery_table(result) -> Table:
    """Per score: matches over the planted edges (or inputs) per seed, the mean share, chance."""
    table = Table(
        title=f"recovery over {len(result.seeds)} seed(s), cells: {', '.join(result.cells)}"
    )
    table.add_column("score")
    table.add_column("per seed: matched of planted (share)")
    table.add_column("mean", justify="right")
    table.add_column("chance", justify="right")
    mean = result.mean()
    for factor, chance in result.chance.items():
        per_seed = "; ".join(_counted(factor, s.scores[factor]) for s in result.seeds)
        table.add_row(factor, per_seed, _share(mean[factor]), _share(chance))
    return table


def _counted(factor: str, score) -> str:
    """``3 of 8 edges (0.38)``: the matches a share is made of."""
    unit = ("input" if factor == "inputs" else "edge") + ("" if score.total == 1 else "s")
    return f"{score.matched} of {score.total} {unit} ({_share(score.recovered)})"


def _share(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def draw_seeds(result) -> list[Path]:
    """Per seed, ``seed_N/planted_vs_found.png``: each scored cell, planted beside found
    (:func:`factorspace.viz.compare.draw_side_by_side`); none without graphviz's ``dot``."""
    import shutil

    if shutil.which("dot") is None:
        return []
    from factorspace.viz.compare import draw_side_by_side

    return [
        draw_side_by_side(
            {"planted": seed.planted, "found": seed.found},
            result.cells,
            result.out / f"seed_{seed.seed}" / "planted_vs_found.png",
        )
        for seed in result.seeds
    ]
