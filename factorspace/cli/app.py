"""The typer app and what every command shares: options, consoles, error reporting."""

from __future__ import annotations

import functools
import re
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


DEVICE_NAME = re.compile(r"auto|cpu|cuda(:\d+)?")  # what factorspace.run.device resolves


def checked_device(device: object) -> None:
    """Refuse a ``--device`` other than auto, cpu, cuda or cuda:N before anything starts (torch
    accepts mps, xla or meta and fails later)."""
    if isinstance(device, str) and not DEVICE_NAME.fullmatch(device):
        raise FactorspaceError(f"--device {device}: expected auto, cpu, cuda or cuda:N")


def reports_errors(command):
    """Turn bad input into one clear message and exit code 2, never a traceback.

    A file system error (``--out`` under a file, a full disk, no permission) is one such
    message too. A run stopped by Ctrl-C or SIGTERM (its checkpoint written) exits 130
    instead: resumable.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            checked_device(kwargs.get("device"))
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
        except OSError as e:
            where = f"{e.filename}: " if e.filename else ""
            err.print(labelled("error", "bold red", f"{where}{e.strerror or e}"), soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper
