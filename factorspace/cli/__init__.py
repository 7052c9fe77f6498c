"""The ``factorspace`` command: a thin layer over the Python API.

Each module below adds its commands to one typer app; importing them registers the commands.
"""

from factorspace.cli import (  # noqa: F401  (each module registers its commands)
    bench,
    genotype,
    info,
    listing,
    nb201,
    plant,
    render,
    report,
    schema,
    search,
    space,
    study,
    train,
)
from factorspace.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
