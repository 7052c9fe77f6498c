"""`factorspace nb201`: a cell's trained accuracy in NAS-Bench-201, by table lookup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from factorspace.cli.app import app, out, reports_errors
from factorspace.evidence import nb201


@app.command("nb201")
@reports_errors
def nb201_(
    cell: Annotated[
        str,
        typer.Argument(
            help="an NB201 cell string, e.g. '|nor_conv_3x3~0|+|...|', or an nb201 genotype "
            "file or search run directory (its genotype.json)"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Look a cell (or a search's derived cell) up in NAS-Bench-201: its test accuracy on CIFAR-10, CIFAR-100 and
    ImageNet16-120 (200 epochs), its rank among the 15,625 cells, the best cells and a random
    cell's accuracy."""
    table = nb201.load_table()
    described = describe_cell(table, cell_string(cell))
    if as_json:
        typer.echo(json.dumps(described, indent=2))
        return
    print_cell(described)


def cell_string(cell: str) -> str:
    """``cell`` as a cell string: itself, or the string of the nb201 genotype a file or run
    directory holds (:func:`factorspace.cells.nb201.to_nb201_string`)."""
    if cell.lstrip().startswith("|") or not Path(cell).exists():
        return cell  # a cell string; anything else is refused by the lookup, saying why
    from factorspace.cells.nb201 import to_nb201_string
    from factorspace.genotype import resolve_genotype

    return to_nb201_string(resolve_genotype(cell))


def describe_cell(table: nb201.NB201Table, cell: str) -> dict:
    """The lookup as plain data: the cell's record, ranks, the best cells, the random baseline."""
    record = table.lookup(cell)
    return {
        "arch": record.arch,
        "index": record.index,
        "cells": len(table),
        "datasets": {
            d: {
                "test_accuracy": record.accuracy(d),
                "rank": table.rank(record.arch, d),
                "top_percent": table.top_share(record.arch, d),
                "best": {"arch": (b := table.best(d)).arch, "test_accuracy": b.accuracy(d)},
                "random_cell_mean": table.random_cells(d).mean,
            }
            for d in nb201.DATASETS
        },
        "source": nb201.CITATION,
    }


def print_cell(described: dict) -> None:
    out.print(f"cell {described['arch']} (NAS-Bench-201 index {described['index']})")
    table = Table(show_edge=False)
    table.add_column("data set", no_wrap=True)
    for column in ("accuracy", "rank", "top", "best", "random"):
        table.add_column(column, justify="right", no_wrap=True)
    cells = described["cells"]
    for dataset, row in described["datasets"].items():
        table.add_row(
            nb201.DATASET_NAMES[dataset],
            f"{row['test_accuracy']:.2f} %",
            f"{row['rank']:,} of {cells:,}",
            f"{row['top_percent']:.2f} %",
            f"{row['best']['test_accuracy']:.2f} %",
            f"{row['random_cell_mean']:.2f} %",
        )
    out.print(table)
    out.print(
        "accuracy: the cell's test accuracy; top: its rank as a share of the cells; best: the "
        "best cell's; random: the mean over all cells (a uniformly drawn cell's expectation)"
    )
    for dataset, row in described["datasets"].items():
        out.print(f"best on {nb201.DATASET_NAMES[dataset]}: {row['best']['arch']}")
    out.print(f"source: {described['source']}")
