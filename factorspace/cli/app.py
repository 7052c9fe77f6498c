"""The typer app and what every command shares: options, consoles, error reporting."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from factorspace.errors import FactorspaceError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Differentiable architecture search over factorized operator spaces.",
)
out = Console()
err = Console(stderr=True)

RecipeArg = Annotated[Path, typer.Argument(help="a recipe YAML file")]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="override a recipe field: dotted.key=value")
]


def reports_errors(command):
    """Turn bad input into one clear message and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except FactorspaceError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper
