"""``factorspace study``: a grid of variants x seeds through search, derive, re-train, evaluate.

A layer beside search and retrain: it runs them (every cell an ordinary run directory) and
tabulates the results; the plot is drawn by :mod:`factorspace.viz.study`, above it.
"""

from factorspace.study.cell import run_cell
from factorspace.study.load import load_study
from factorspace.study.results import bootstrap_interval, compare, summarize, welch
from factorspace.study.runner import run_study, write_outputs
from factorspace.study.schema import Stage, Study, Variant
from factorspace.study.threads import available_cores, threads_per_worker

__all__ = [
    "Stage",
    "Study",
    "Variant",
    "available_cores",
    "bootstrap_interval",
    "compare",
    "load_study",
    "run_cell",
    "run_study",
    "summarize",
    "threads_per_worker",
    "welch",
    "write_outputs",
]
