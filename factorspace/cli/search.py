"""`factorspace search`: the main job; and how `search` and `train` find the run to resume."""

from __future__ import annotations

import contextlib
import shlex
from pathlib import Path
from typing import Annotated

import typer
import yaml

from factorspace.cli.app import EXIT_CODES, SetOpt, app, out, reports_errors
from factorspace.errors import FactorspaceError, Interrupted
from factorspace.loader import errors_located, load_recipe
from factorspace.run.changed_defaults import as_it_ran, as_it_ran_overrides
from factorspace.run.progress import LOG_EVERY, RunConsole
from factorspace.run.rundir import RunDir
from factorspace.run.stopping import resume_command

DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N")]
LogEveryOpt = Annotated[
    float,
    typer.Option(
        "--log-every",
        min=0,
        help="seconds between progress lines where stdout is not a terminal (a batch job's "
        "log) and in RUN/run.log; one comes after the first step",
    ),
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="continue a run: `--resume RUN` reads its recipe and --set values from RUN "
        "(`RECIPE --out RUN --resume` works too, with the same recipe and --set values)",
    ),
]
SHOWN = 60  # characters of a differing value shown
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
    recipe: Annotated[
        Path | None,
        typer.Argument(help="a recipe YAML file (with --resume: or the run directory)"),
    ] = None,
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
    resume: ResumeOpt = False,
    log_every: LogEveryOpt = LOG_EVERY,
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
    if resume:
        recipe, out_dir, seeds = search_to_resume(recipe, out_dir, seeds)
        set_ = [*ran_with(recipe), *(set_ or [])]
    elif recipe is None:
        raise FactorspaceError("give a recipe: factorspace search RECIPE [--out RUN]")
    else:
        refuse_run_dir(recipe, out_dir, "search")
    r = load_recipe(recipe, set_ or [])
    if workers > 1 and seeds is None:
        raise FactorspaceError("--workers: runs --seeds side by side; give --seeds too")
    if seeds is not None and distributed.launched():
        raise FactorspaceError("--seeds: not under torchrun; start one torchrun job per --seed")
    if seeds is not None:
        from factorspace.search.multiseed import parse_seeds, search_seeds

        if seed is not None:
            raise FactorspaceError("--seed and --seeds: give one of them")
        seed_list = parse_seeds(seeds)
        if resume:
            first = RunDir(out_dir).seed_run(seed_list[0])
            if first.recipe.is_file():
                check_same_as_recorded(first.root, with_seed(r, seed_list[0]), "search")
        with errors_located(recipe, set_ or []), seeds_hint():
            shown = RunConsole(out, log_every=log_every)  # each seed run's progress lines
            parent = search_seeds(
                r,
                seed_list,
                out=out_dir,
                device=device,
                resume=resume,
                console=shown,
                workers=workers,
                threads=threads,
            )
        out.print(f"summary: {RunDir(parent).summary_json}", soft_wrap=True)
        return
    if resume and RunDir(out_dir).recipe.is_file():
        check_same_as_recorded(out_dir, with_seed(r, seed), "search")
    with distributed.launch(device) as ctx, errors_located(recipe, set_ or []):
        result = run_search(
            r,
            out=out_dir,
            device=ctx.device or device,
            seed=seed,
            resume=resume,
            console=out,
            distributed=ctx,
            log_every=log_every,
        )
    if not ctx.is_main:
        return
    out.print(f"genotype: {RunDir(result.run_dir).genotype}", soft_wrap=True)
    out.print(f"run directory: {result.run_dir}", soft_wrap=True)


@contextlib.contextmanager
def seeds_hint():
    """An interrupted seed run's hint made the command that continues all the seeds: the
    parent's ``--resume`` (the seed run's alone would leave the others and the summary)."""
    try:
        yield
    except Interrupted as e:
        text, sep, command = str(e).partition("Continue with: ")
        if not sep:
            raise
        seed_run = Path(shlex.split(command)[-1])
        raise Interrupted(f"{text}{sep}{resume_command('search', seed_run.parent)}") from None


def search_to_resume(
    target: Path | None, out_dir: Path | None, seeds: str | None
) -> tuple[Path, Path, str | None]:
    """``--resume``: the recipe, the run directory and (a ``--seeds`` parent) the seeds.

    ``--resume RUN`` reads ``RUN/recipe.yaml`` (a ``--seeds`` parent: its first seed run's, and
    its seeds from the ``seed_N/`` directories); ``RECIPE --out RUN --resume`` keeps its recipe.
    """
    run_dir = run_to_resume(target, out_dir, "search")
    if target is not None and not target.is_dir():  # the old form: RECIPE --out RUN --resume
        return target, run_dir, seeds
    paths = RunDir(run_dir)
    if paths.record.is_file() and recorded_recipe(run_dir).get("network") is not None:
        raise FactorspaceError(
            f"{run_dir}: a training run, not a search; continue it with: factorspace train "
            f"--resume {shlex.quote(str(run_dir))}"
        )
    if paths.record.is_file():
        return paths.recipe, run_dir, seeds
    if paths.is_seed_parent():
        found = paths.seeds()
        seeds = seeds or ",".join(str(s) for s in found)
        return paths.seed_run(found[0]).recipe, run_dir, seeds
    raise FactorspaceError(
        f"{run_dir}: not a run directory (no run.json) nor a --seeds parent (no seed_N/) — "
        "cannot --resume"
    )


def ran_with(recipe: Path) -> list[str]:
    """``--set`` items for the fields a recorded ``RUN/recipe.yaml`` lacks whose default changed
    since (:data:`factorspace.run.resume.RAN_WITHOUT`): the run resumes as it ran. None for a
    recipe file given with ``--out RUN --resume`` (the check against the record says the rest).
    """
    run = RunDir(recipe.parent)
    if recipe != run.recipe or not run.record.is_file():
        return []
    return as_it_ran_overrides(recorded_recipe(recipe.parent, completed=False))


def run_to_resume(target: Path | None, out_dir: Path | None, command: str) -> Path:
    """The run directory ``--resume`` continues: ``--resume RUN`` or ``--out RUN``."""
    if target is not None and target.is_dir():
        if out_dir is not None and out_dir.resolve() != target.resolve():
            raise FactorspaceError(
                f"--resume {target} and --out {out_dir}: two run directories; continue one "
                f"with: factorspace {command} --resume {shlex.quote(str(target))}"
            )
        return target
    if out_dir is None:
        raise FactorspaceError(
            f"--resume needs the run directory to continue: factorspace {command} --resume RUN "
            "(or the recipe with --out RUN --resume)"
        )
    return out_dir


def refuse_run_dir(given: Path | None, out_dir: Path | None, command: str) -> None:
    """Refuse a run directory (or a ``--seeds`` parent) given where a recipe goes, or an
    ``--out`` holding a run with a checkpoint, with the command that continues it."""
    again = f"factorspace {command} --resume"
    paths = RunDir(given) if given is not None else None
    if paths is not None and (paths.record.is_file() or paths.is_seed_parent()):
        raise FactorspaceError(
            f"{given}: a run directory, not a recipe; continue it with: {again} "
            f"{shlex.quote(str(given))}"
        )
    out = RunDir(out_dir) if out_dir is not None else None
    if out is not None and out.record.is_file() and out.checkpoint.is_file():
        raise FactorspaceError(
            f"{out_dir}: already exists and is not empty (it holds a run); continue it with: "
            f"{again} {shlex.quote(str(out_dir))}, or choose another --out"
        )


def with_seed(recipe, seed: int | None):
    """``recipe`` with ``search.seed`` set (as ``search(seed=...)`` does)."""
    if seed is None:
        return recipe
    return recipe.model_copy(update={"search": recipe.search.model_copy(update={"seed": seed})})


def check_same_as_recorded(run_dir: Path, recipe, command: str) -> None:
    """Refuse to resume ``run_dir`` with a recipe (after ``--set``) other than the one it recorded
    in ``recipe.yaml``, showing each difference (``limits`` may change: it only guards the start).
    """
    path, recorded = RunDir(run_dir).recipe, recorded_recipe(run_dir)
    if not recorded:
        return  # the run's own check reports an unreadable recipe.yaml
    given = recipe.model_dump(mode="json")
    diffs = [d for d in value_differences(recorded, given) if d[0].split(".")[0] != "limits"]
    if not diffs:
        return
    shown = "; ".join(f"{k}: recorded {clipped(a)}, given {clipped(b)}" for k, a, b in diffs[:5])
    more = f" and {len(diffs) - 5} more" if len(diffs) > 5 else ""
    raise FactorspaceError(
        f"{path}: {diffs[0][0]}: this run was made by another recipe or --set values "
        f"({shown}{more}); continue it as it was with: "
        f"factorspace {command} --resume {shlex.quote(str(run_dir))}"
    )


def recorded_recipe(run_dir: Path, completed: bool = True) -> dict:
    """``RUN/recipe.yaml`` as a dict, ``completed`` with the values of the fields it lacks whose
    default changed since (:func:`~factorspace.run.resume.as_it_ran`); empty where it is missing
    or unreadable."""
    try:
        recorded = yaml.safe_load(RunDir(run_dir).recipe.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(recorded, dict):
        return {}
    return as_it_ran(recorded) if completed else recorded


def value_differences(a, b, prefix: str = "") -> list[tuple[str, object, object]]:
    """``(dotted.field, a's value, b's value)`` wherever two resolved recipes differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted({*a, *b}, key=str)
            for d in value_differences(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        ]
    return [] if a == b else [(prefix or "recipe", a, b)]


def clipped(value: object) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."
