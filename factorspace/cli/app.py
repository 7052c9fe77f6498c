"""The typer app and what every command shares: options, consoles, error reporting."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

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
# User text (paths, recipe values, error messages) is printed as it is: no rich markup (a path
# with `[x]` in it would lose it, `[/x]` would raise), no `:emoji:` codes, no highlighting.
# Styles come only from labelled(), never from text.
out = Console(markup=False, emoji=False, highlight=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)


def labelled(label: str, style: str, message: object = None) -> Text:
    """``label: message`` with ``label`` styled and ``message`` literal (``label`` alone if none)."""
    if message is None:
        return Text(label, style=style)
    return Text.assemble((f"{label}:", style), f" {message}")


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
            err.print(labelled("interrupted", "bold yellow", e), soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except KeyboardInterrupt:  # before a run started, or a second Ctrl-C
            err.print(labelled("interrupted", "bold yellow"))
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except FactorspaceError as e:
            err.print(labelled("error", "bold red", e), soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper
