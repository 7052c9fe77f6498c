"""`factorspace info`: how big a genotype's network is, or the network a training run trained."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from factorspace.cli.app import app, out, reports_errors
from factorspace.cli.imports import ImportOpt, import_extensions, may_name_a_file
from factorspace.cli.train import Dataset, _checked
from factorspace.errors import FactorspaceError


@app.command()
@reports_errors
def info(
    genotype: Annotated[
        str,
        typer.Argument(
            help="a genotype file, a search run directory, a zoo name or a DARTS string; or a "
            "`factorspace train` run directory or checkpoint (its trained network)"
        ),
    ],
    dataset: Annotated[
        Dataset | None,
        typer.Option(help="picks the network and the resolution [default: cifar10, or the run's]"),
    ] = None,
    channels: Annotated[int | None, typer.Option(help="default: DARTS's, or the run's")] = None,
    cells: Annotated[int | None, typer.Option(help="default: DARTS's, or the run's")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    imports: ImportOpt = None,
) -> None:
    """Parameters and multiply-accumulates of a genotype's network or of a trained one.

    Parameters without and with the auxiliary tower. A genotype's network has DARTS's sizes
    unless given; a training run's or checkpoint's is the network it trained.
    """
    from functools import partial

    from factorspace.genotype import resolve_genotype
    from factorspace.retrain.info import model_info, trained_network
    from factorspace.schema.train import NetworkConfig

    import_extensions(imports)
    trained = trained_network(genotype) if may_name_a_file(genotype) else None
    sizes = {k: v for k, v in {"channels": channels, "cells": cells}.items() if v is not None}
    if trained is None:
        g, side, source = resolve_genotype(genotype, registered=True), None, None
        dataset = dataset or "cifar10"
    else:
        g, network, side, source = (
            trained.genotype,
            trained.network,
            trained.image_size,
            trained.source,
        )
        if dataset not in (None, network.dataset):
            raise FactorspaceError(
                f"--dataset {dataset}: {genotype} was trained on {network.dataset}; give its "
                "genotype file for another dataset's network"
            )
        dataset = network.dataset
        sizes = {**network.model_dump(include={"channels", "cells", "classes"}), **sizes}
        sizes["auxiliary"] = network.auxiliary
    counts = _checked(partial(model_info, resolution=side), g, dataset, sizes)
    config = NetworkConfig(dataset=dataset, **sizes)
    no_tower = trained is not None and not config.auxiliary
    if no_tower:  # what trained: the network alone
        counts["parameters_with_auxiliary"] = counts["parameters"]
    result = {
        "genotype": g.name,
        "dataset": dataset,
        "channels": config.channels,
        "cells": config.cells,
        "network_from": str(source) if source else None,
        **counts,
    }
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    given = channels is not None or cells is not None
    if source:
        origin = f"{source}'s, resized as given" if given else f"as trained ({source})"
    else:
        origin = "as given" if given else "DARTS's"
    table = Table(title=f"{g.name or genotype} on {dataset}", show_header=False)
    table.add_row("network", f"{config.channels} channels, {config.cells} cells, {origin}")
    table.add_row("parameters", f"{result['parameters'] / 1e6:.2f}M ({result['parameters']:,})")
    with_aux = result["parameters_with_auxiliary"]
    table.add_row(
        "with auxiliary tower",
        "none trained (network.auxiliary: false)"
        if no_tower
        else f"{with_aux / 1e6:.2f}M ({with_aux:,})",
    )
    res = result["resolution"]
    table.add_row(f"MACs at {res}x{res}", f"{result['macs'] / 1e6:.0f}M ({result['macs']:,})")
    out.print(table)
