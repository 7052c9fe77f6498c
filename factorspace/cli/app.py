"""The typer app and what every command shares: options, consoles, error reporting."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from factorspace.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    FactorspaceError,
    Interrupted,
)

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


EXIT_CODES = (
    "Exit codes: 0 done; 2 bad input (one message naming the file, line and field); 130 stopped "
    "by Ctrl-C or SIGTERM after writing a checkpoint: --resume continues it."
)


def reports_errors(command):
    """Turn bad input into one clear message and exit code 2, never a traceback.

    A run stopped by Ctrl-C or SIGTERM (its checkpoint written) exits 130 instead: resumable.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except Interrupted as e:
            err.print(f"[bold yellow]interrupted:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except KeyboardInterrupt:  # before a run started, or a second Ctrl-C
            err.print("[bold yellow]interrupted[/]", highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except FactorspaceError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper
