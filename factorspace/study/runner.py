"""``run_study``: every cell of a study, in-process or on local worker processes or on SLURM
(submitit), then results.csv, summary.csv and summary.json in the study's directory.

Cells whose variant re-uses another's search (``search_from``, ``{search:V}``) run after all
others. A finished cell is skipped, a half-done one resumes: run the same command again after a
kill. One line is printed per finished cell, then the count and an estimate of the time left.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from queue import Queue

from factorspace.errors import FactorspaceError, Interrupted
from factorspace.run.atomic import atomic_write_text, write_json
from factorspace.run.lock import RunLock
from factorspace.run.threads import available_cores, threads_per_worker, worker_env
from factorspace.study import lookup
from factorspace.study.cell import finished_result, run_cell
from factorspace.study.load import load_study
from factorspace.study.results import (
    RESULT_FIELDS,
    SUMMARY_FIELDS,
    compare,
    csv_text,
    summarize,
)
from factorspace.study.schema import Study

Cell = tuple[str, int]  # (variant, seed)


def cells_in_order(study: Study) -> list[list[Cell]]:
    """The cells in phases: those that search for themselves, then those re-using a search."""
    first = [v for v, spec in study.variants.items() if not spec.dependencies()]
    later = [v for v in study.variants if v not in first]
    return [[(v, s) for v in phase for s in study.seeds] for phase in (first, later) if phase]


@dataclass
class Progress:
    """One line per finished cell, then ``done/total`` and the time left at the pace so far."""

    total: int
    print_line: Callable[[str], None]
    done: int = 0
    ran: int = 0
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = time.monotonic()

    def finished(self, row: dict, earlier: bool) -> None:
        self.done += 1
        self.ran += 0 if earlier else 1
        what = "finished earlier" if earlier else cell_outcome(row)
        self.print_line(f"[{self.done}/{self.total}] {row['variant']} seed {row['seed']}: {what}")
        elapsed = time.monotonic() - self.started
        left = self.total - self.done
        eta = f", about {_duration(elapsed / self.ran * left)} left" if self.ran and left else ""
        self.print_line(f"  {self.done}/{self.total} cells done, {_duration(elapsed)} elapsed{eta}")


def cell_outcome(row: dict) -> str:
    """A finished cell in a few words: its re-trained test error, or its looked-up cell."""
    if "nb201_cifar10" in row:
        return (
            f"NB201 CIFAR-10 {row['nb201_cifar10']:.2f} % (rank {row['nb201_cifar10_rank']:,}; "
            f"search {row['search_seconds']:.0f} s) {row['nb201_arch']}"
        )
    return (
        f"test error {100 * row['test_error']:.2f} % (search {row['search_seconds']:.0f} s, "
        f"re-train {row['train_seconds']:.0f} s)"
    )


def _duration(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    return (
        f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min {s:02d} s"
    )


def run_study(
    study_path: str | Path,
    out: str | Path | None = None,
    *,
    workers: int = 1,
    device: str = "auto",
    launcher: str = "local",
    submitit_options: dict | None = None,
    print_line: Callable[[str], None] = print,
    console=None,
    threads: int | None = None,
) -> dict:
    """Run (or finish) every cell of the study; write and return its summary.

    Args:
        study_path: the study file.
        out: the study's directory (default ``runs/studies/NAME``); the same one continues.
        workers: cells at once; above 1, each in its own process with an equal share of the
            cores (and one GPU each when there are several).
        launcher: ``local`` or ``submitit`` (one SLURM job per cell; ``submitit_options`` go
            to the executor's ``update_parameters``, ``cluster`` to its constructor).
        console: where an in-process cell's progress bars go (``workers`` 1, local).
        threads: the cores the local workers share (default: all this process may use,
            :func:`factorspace.run.threads.available_cores`).
    """
    study = load_study(study_path)
    out = Path(out) if out else Path("runs") / "studies" / study.name
    out.mkdir(parents=True, exist_ok=True)
    lock = RunLock.acquire(out, what="study")  # one study per directory: its cells are its own
    try:
        phases = cells_in_order(study)
        progress = Progress(sum(map(len, phases)), print_line)
        for phase in phases:
            todo = []
            for variant, seed in phase:
                row = finished_result(out, variant, seed)
                if row is None:
                    todo.append((variant, seed))
                else:
                    progress.finished(row, earlier=True)
            runner = {"local": partial(_local, threads=threads), "submitit": _submitit}.get(
                launcher
            )
            if runner is None:
                raise FactorspaceError(f"--launcher {launcher!r}: local or submitit")
            for row in runner(
                study_path, todo, out, device, workers, submitit_options or {}, console
            ):
                progress.finished(row, earlier=False)
        return write_outputs(study, out)
    finally:
        lock.release()


def _local(
    study_path, todo, out, device, workers, _options, console, threads=None
) -> Iterable[dict]:
    if workers <= 1:
        for variant, seed in todo:
            yield run_cell(study_path, variant, seed, out, device, console)
        return
    threads = threads_per_worker(workers, available_cores(requested=threads))
    gpus = _gpu_count(device)
    slots: Queue[int] = Queue()
    for slot in range(workers):
        slots.put(slot)

    def in_child(cell: Cell) -> dict:
        slot = slots.get()
        try:
            env = worker_env(slot, threads, gpus, dict(os.environ))
            return _cell_process(study_path, cell, out, device, env)
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(in_child, cell) for cell in todo]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _cell_process(study_path, cell: Cell, out: Path, device: str, env: dict) -> dict:
    """One cell in a fresh Python (its threads set before torch starts); output to its log."""
    variant, seed = cell
    log = out / variant / f"seed_{seed}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "factorspace.study.cell",
        str(study_path),
        variant,
        str(seed),
        str(out),
        device,
    ]
    with log.open("a") as f:
        code = subprocess.run(command, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    if code == 130:
        raise Interrupted(f"{variant} seed {seed} was stopped; run the same command to continue")
    row = finished_result(out, variant, seed)
    if code != 0 or row is None:
        tail = log.read_text().strip().splitlines()[-1:] or ["(no output)"]
        raise FactorspaceError(
            f"{variant} seed {seed} failed (exit {code}): {tail[0]} (log: {log})"
        )
    return row


def _gpu_count(device: str) -> int:
    if device == "cpu":
        return 0
    import torch

    return torch.cuda.device_count()


def _submitit(study_path, todo, out, device, workers, options, _console) -> Iterable[dict]:
    try:
        import submitit
    except ImportError:
        raise FactorspaceError(
            "--launcher submitit: install it (pip install 'factorspace[cluster]')"
        ) from None
    options = dict(options)
    executor = submitit.AutoExecutor(folder=out / "submitit", cluster=options.pop("cluster", None))
    executor.update_parameters(**options)
    path = str(Path(study_path).resolve())
    jobs = [executor.submit(run_cell, path, v, s, str(out.resolve()), device) for v, s in todo]
    for job in jobs:
        yield job.result()


def collect_rows(study: Study, out: Path) -> list[dict]:
    """Every finished cell's row, in the study's order (variants, then seeds)."""
    rows = [finished_result(out, v, s) for v in study.variants for s in study.seeds]
    return [r for r in rows if r is not None]


def write_outputs(study: Study, out: Path) -> dict:
    """results.csv, summary.csv and summary.json (with the comparison) from the finished cells;
    an nb201 study's tables hold the looked-up accuracies, and its summary.json the table's
    random-cell baseline (:mod:`factorspace.study.lookup`)."""
    rows = collect_rows(study, out)
    order = list(study.variants)
    if study.evaluate == "nb201":
        summary = lookup.summarize_lookups(rows, order, study.cell_train_seconds)
        fields = (lookup.RESULT_FIELDS, lookup.SUMMARY_FIELDS)
    else:
        summary = summarize(rows, order)
        fields = (RESULT_FIELDS, SUMMARY_FIELDS)
    atomic_write_text(out / "results.csv", csv_text(rows, fields[0]))
    atomic_write_text(out / "summary.csv", csv_text(summary, fields[1]))
    result = {"study": study.name, "metric": study.compared, "variants": summary}
    if study.evaluate == "nb201":
        result["random_cells"] = lookup.random_baseline()
        result["cell_train_seconds"] = study.cell_train_seconds
    if study.compare:
        result["comparison"] = compare(rows, *study.compare, metric=study.compared)
    write_json(out / "summary.json", result)
    return result
