"""``--import MODULE``: what every command taking a genotype shares to find custom operators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from factorspace.loader.extensions import ExtensionModule, import_extension

ImportOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--import",
        metavar="MODULE",
        help="a module (a.b, found on the Python path or in the working directory) or a .py "
        "file to import first: it registers custom operators and activations; repeatable",
    ),
]


def import_extensions(specs: list[str] | None) -> list[ExtensionModule]:
    """Import each ``--import`` in order (a bad one: one message, exit 2)."""
    return [import_extension(spec, folders=[Path.cwd()]) for spec in specs or []]


def may_name_a_file(spec: str) -> bool:
    """Whether ``spec`` can be a path: neither a DARTS ``Genotype(...)`` string nor a name too
    long for the file system (``Path.is_dir`` raises on those instead of answering)."""
    from factorspace.genotype.darts_files import looks_like_darts_string

    if looks_like_darts_string(spec):
        return False
    try:
        Path(spec).exists()
    except OSError:
        return False
    return True
