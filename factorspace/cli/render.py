"""`factorspace render`: draw a genotype's cells for a paper."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Annotated, Literal

import typer
import yaml

from factorspace.cli.app import app, err, labelled, out, reports_errors
from factorspace.cli.imports import ImportOpt, import_extensions, may_name_a_file
from factorspace.viz.render import (
    FORMATS,
    MAX_LABEL_PT,
    MIN_LABEL_PT,
    RenderNotice,
    render_genotype,
)

Format = Literal["pdf", "svg", "png", "gv"]
Cell = Literal["normal", "reduce", "both"]


@app.command()
@reports_errors
def render(
    genotype: Annotated[
        str,
        typer.Argument(
            help="a genotype file, a run directory, a zoo name or a DARTS string (FILE.py:NAME)"
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="where to write: FILE's stem + _normal/_reduce + the format's suffix "
            "[default: <genotype name>_cells.pdf]",
        ),
    ] = None,
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format", help="pdf, svg, png or gv (the dot source) [default: -o's suffix, else pdf]"
        ),
    ] = None,
    cell: Annotated[Cell, typer.Option(help="which cell to draw")] = "both",
    imports: ImportOpt = None,
    width: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            help=f"print width in inches, e.g. 3.3 for one column of a two-column paper, 7 for a "
            f"page: the drawing is laid out and scaled to it, labels kept >= {MIN_LABEL_PT:g} pt "
            f"where they fit and <= {MAX_LABEL_PT:g} pt (a small cell is centred, not blown up) "
            "[default: the natural size]",
        ),
    ] = None,
) -> None:
    """Draw a genotype's cells as the DARTS papers do, each edge with its activation.

    Nodes as in the DARTS paper: inputs c_{k-2}, c_{k-1}, intermediate nodes 0, 1.., output c_{k}.
    """
    from factorspace.genotype import resolve_genotype

    import_extensions(imports)
    unfinished = may_name_a_file(genotype) and unfinished_run_genotype(Path(genotype))
    g = unfinished or resolve_genotype(genotype, registered=True)
    if output is None:
        output = Path(f"{_file_name(g.name or Path(genotype).stem)}_cells.pdf")
    fmt = fmt or (output.suffix[1:] if output.suffix[1:] in FORMATS else "pdf")
    cells = ("normal", "reduce") if cell == "both" else (cell,)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RenderNotice)
        paths = render_genotype(g, output, fmt=fmt, cells=cells, width=width)
    for w in caught:
        if issubclass(w.category, RenderNotice):
            err.print(labelled("warning", "yellow", w.message), soft_wrap=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    for path in paths:
        out.print(f"wrote {path}", highlight=False, soft_wrap=True)


def unfinished_run_genotype(run_dir: Path):
    """For a search run directory with no ``genotype.json`` yet (running, interrupted), the
    latest epoch's genotype, said on stderr; None for anything else."""
    from factorspace.genotype import load_genotype
    from factorspace.run.rundir import RunDir

    paths = RunDir(run_dir)
    if not run_dir.is_dir() or paths.genotype.exists() or not paths.epoch_genotypes():
        return None
    latest = paths.epoch_genotypes()[-1]
    try:
        epochs = yaml.safe_load(paths.recipe.read_text())["search"]["epochs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        epochs = "?"
    epoch = int(latest.stem.removeprefix("epoch_"))
    err.print(f"run not finished: drawing epoch {epoch} of {epochs} ({latest})", soft_wrap=True)
    return load_genotype(latest, registered=True)


def _file_name(name: str) -> str:
    """A genotype name as a file name: 'A-DARTS (CIFAR)' -> 'A-DARTS_CIFAR'."""
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "genotype"
