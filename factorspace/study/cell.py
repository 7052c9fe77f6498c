"""One cell of a study (a variant and a seed): search, derive, re-train, evaluate, in run directories.

``OUT/VARIANT/seed_N/`` holds ``search/`` (a search run directory; none with ``search_from``),
``genotype.json`` (what is re-trained, or looked up), ``train/`` (a re-training run directory;
none with ``evaluate: nb201``, whose cells are looked up in NAS-Bench-201's table instead:
:mod:`factorspace.study.lookup`) and ``result.json`` (the cell's row of results.csv). Each
stage is skipped when its run finished, and resumed (``resume=True``) when it has a checkpoint,
so a killed study continues where it stopped.

Run as ``python -m factorspace.study.cell STUDY VARIANT SEED OUT DEVICE`` by the local workers,
each with its own threads set before torch starts.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from rich.console import Console

from factorspace.errors import FactorspaceError
from factorspace.genotype import import_recorded, load_genotype, save_genotype
from factorspace.genotype.transform import with_input
from factorspace.loader import errors_located, load_recipe
from factorspace.retrain.info import model_info
from factorspace.retrain.recipe import load_train_recipe
from factorspace.retrain.train import train
from factorspace.run.atomic import write_json
from factorspace.run.lock import live_holder
from factorspace.run.rundir import RunDir
from factorspace.search import search
from factorspace.study.load import load_study
from factorspace.study.lookup import lookup_row
from factorspace.study.schema import PLACEHOLDER, Study

FINISHED = ("complete", "early_stopped")


def cell_dir(out: Path, variant: str, seed: int) -> Path:
    return Path(out) / variant / f"seed_{seed}"


def search_dir(study: Study, out: Path, variant: str, seed: int) -> Path:
    """The search run directory a variant's cell uses (another variant's with ``search_from``)."""
    source = study.variants[variant].search_from or variant
    return cell_dir(out, source, seed) / "search"


def result_path(out: Path, variant: str, seed: int) -> Path:
    return cell_dir(out, variant, seed) / "result.json"


def finished_result(out: Path, variant: str, seed: int) -> dict | None:
    """The cell's row if it finished earlier, else None."""
    path = result_path(out, variant, seed)
    return json.loads(path.read_text()) if path.is_file() else None


def status(run_dir: Path) -> str | None:
    """The run's status; a damaged ``run.json`` is one message (``UnreadableRecord``)."""
    return RunDir(run_dir).read_record().get("status")


def resumable(run_dir: Path) -> bool:
    """Whether ``run_dir`` has a checkpoint to resume; a start that left none is cleared,
    unless a live process holds its lock (a run starting: never removed under it).

    Raises:
        FactorspaceError: another process is running in ``run_dir``.
    """
    if RunDir(run_dir).checkpoint.is_file():
        return True
    if run_dir.exists():
        holder = live_holder(run_dir)
        if holder is not None:
            who = f"process {holder}" if holder > 0 else "another process"
            raise FactorspaceError(
                f"{run_dir}: in use by {who} (it holds run.lock); is another study running "
                "on this --out? Wait for it to end"
            )
        shutil.rmtree(run_dir)  # a run that died before its first checkpoint: start it again
    return False


def search_overrides(study: Study, out: Path, variant: str, seed: int) -> list[str]:
    stage = study.variants[variant].search
    return [
        PLACEHOLDER.sub(lambda m: str(search_dir(study, out, m.group(1), seed)), item)
        for item in stage.set
    ]


def run_search_stage(study, out, variant, seed, device, console) -> tuple[Path, float | None]:
    """The cell's search run directory, searched (or finished) now, and the CPU seconds this
    process spent on it when it searched from the start here (else None: finished earlier, or
    resumed from a checkpoint, its CPU time split across processes)."""
    run_dir = search_dir(study, out, variant, seed)
    if status(run_dir) in FINISHED:
        return run_dir, None
    if study.variants[variant].search is None:  # search_from: that variant's cells run first
        raise FactorspaceError(
            f"{variant} re-uses the search in {run_dir}, which has not finished; run the study "
            f"(its variant {study.variants[variant].search_from} first)"
        )
    stage = study.variants[variant].search
    overrides = search_overrides(study, out, variant, seed)
    recipe = load_recipe(stage.recipe, overrides)
    resume = resumable(run_dir)
    started = time.process_time()  # every thread of this process: one core's time at 1 thread
    with errors_located(stage.recipe, overrides):
        search(recipe, out=run_dir, device=device, seed=seed, resume=resume, console=console)
    return run_dir, None if resume else time.process_time() - started


def train_stage(study: Study, variant: str):
    return study.variants[variant].train or study.train


def run_cell(
    study_path: str | Path,
    variant: str,
    seed: int,
    out: str | Path,
    device: str = "auto",
    console: Console | None = None,
) -> dict:
    """Run (or finish) one cell; returns its row, also written to ``result.json``."""
    study, out = load_study(study_path), Path(out)
    done = finished_result(out, variant, seed)
    if done is not None:
        return done
    here = cell_dir(out, variant, seed)
    searched, cpu_seconds = run_search_stage(study, out, variant, seed, device, console)
    genotype = load_genotype(RunDir(searched).genotype)
    import_recorded(genotype, trusted=True)  # the study's own search: its recipe's modules
    if study.variants[variant].set_activation:
        genotype = with_input(genotype, study.variants[variant].set_activation)
    here.mkdir(parents=True, exist_ok=True)
    save_genotype(genotype, here / "genotype.json")
    if study.evaluate == "nb201":
        seconds = json.loads(RunDir(searched).record.read_text()).get("seconds", 0.0)
        where = str((here / "genotype.json").relative_to(out))
        row = lookup_row(variant, seed, genotype, where, seconds, cpu_seconds)
        write_json(result_path(out, variant, seed), row)
        return row
    stage = train_stage(study, variant)
    overrides = [*stage.set, f"train.seed={seed}"]
    recipe = load_train_recipe(stage.recipe, overrides)
    trained = here / "train"
    if status(trained) != "complete":
        with errors_located(stage.recipe, overrides):
            train(
                genotype,
                recipe,
                out=trained,
                device=device,
                resume=resumable(trained),
                console=console,
            )
    row = cell_row(variant, seed, searched, trained, here / "genotype.json", recipe, out)
    write_json(result_path(out, variant, seed), row)
    return row


def cell_row(variant, seed, searched: Path, trained: Path, genotype: Path, recipe, out) -> dict:
    """One row of results.csv: times from the run records, size of the re-trained network."""
    search_record = json.loads(RunDir(searched).record.read_text())
    train_record = json.loads(RunDir(trained).record.read_text())
    net = recipe.network
    size = model_info(
        genotype, net.dataset, channels=net.channels, cells=net.cells, classes=net.classes
    )
    return {
        "variant": variant,
        "seed": seed,
        "search_seconds": round(search_record.get("seconds", 0.0), 1),
        "genotype": str(genotype.relative_to(out)),
        "params": size["parameters"],
        "macs": size["macs"],
        "train_seconds": round(train_record.get("seconds", 0.0), 1),
        "test_acc": train_record["test_acc"],
        "test_error": 1.0 - train_record["test_acc"],
    }


def main(argv: list[str]) -> int:
    """``STUDY VARIANT SEED OUT DEVICE``: exit 0 done, 2 bad input, 130 interrupted."""
    from factorspace.errors import Interrupted

    study_path, variant, seed, out, device = argv
    try:
        run_cell(study_path, variant, int(seed), out, device, console=None)
    except Interrupted:
        return 130
    except FactorspaceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
