"""The ``factorspace`` command: a thin layer over the Python API.

Each module below adds its commands to one typer app; importing them registers the commands.
"""

from factorspace.cli import bench, render, report, schema, search, space, train  # noqa: F401
from factorspace.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
