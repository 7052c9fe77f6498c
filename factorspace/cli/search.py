"""`factorspace search`: the main job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from factorspace.cli.app import EXIT_CODES, RecipeArg, SetOpt, app, out, reports_errors
from factorspace.errors import FactorspaceError
from factorspace.loader import errors_located, load_recipe
from factorspace.run.rundir import RunDir

DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N")]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="CPU threads, at most the cores this process may use (default: those cores: "
        "affinity, cgroup quota, OMP_NUM_THREADS; docs/performance.md)",
    ),
]


@app.command(epilog=EXIT_CODES)
@reports_errors
def search(
    recipe: RecipeArg,
    set_: SetOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="run directory (default: runs/NAME-TIME)")
    ] = None,
    device: DeviceOpt = "auto",
    seed: Annotated[int | None, typer.Option(help="overrides search.seed")] = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            help="comma-separated seeds, e.g. 0,1,2: one run each in --out/seed_N (default "
            "runs/NAME-TIME-seeds) and a summary.json/.csv comparing them"
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out")] = False,
    threads: ThreadsOpt = None,
    workers: Annotated[
        int, typer.Option(min=1, help="with --seeds: seeds at once, sharing the cores")
    ] = 1,
) -> None:
    """Search a recipe's space, derive the genotype, and leave a run directory."""
    from factorspace.run import distributed
    from factorspace.run.threads import use_threads
    from factorspace.search import search as run_search

    use_threads(threads)
    r = load_recipe(recipe, set_ or [])
    if workers > 1 and seeds is None:
        raise FactorspaceError("--workers: runs --seeds side by side; give --seeds too")
    if seeds is not None and distributed.launched():
        raise FactorspaceError("--seeds: not under torchrun; start one torchrun job per --seed")
    if seeds is not None:
        from factorspace.search.multiseed import parse_seeds, search_seeds

        if seed is not None:
            raise FactorspaceError("--seed and --seeds: give one of them")
        with errors_located(recipe, set_ or []):
            parent = search_seeds(
                r,
                parse_seeds(seeds),
                out=out_dir,
                device=device,
                resume=resume,
                console=out,
                workers=workers,
                threads=threads,
            )
        out.print(f"summary: {RunDir(parent).summary_json}")
        return
    with distributed.launch(device) as ctx, errors_located(recipe, set_ or []):
        result = run_search(
            r,
            out=out_dir,
            device=ctx.device or device,
            seed=seed,
            resume=resume,
            console=out,
            distributed=ctx,
        )
    if not ctx.is_main:
        return
    out.print(f"genotype: {RunDir(result.run_dir).genotype}")
    out.print(f"run directory: {result.run_dir}")
