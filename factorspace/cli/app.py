"""The typer app and what every command shares: options, consoles, error reporting."""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from typer.core import TyperGroup

from factorspace._version import __version__
from factorspace.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    FactorspaceError,
    Interrupted,
)

# The commands in the order a user meets them: check and describe a space, search it, re-train
# and use the result, draw it; then the experiments and tools. A command not named here (a plugin's,
# a new one) follows, in the order it was registered.
COMMAND_ORDER = (
    "validate",
    "space",
    "search",
    "train",
    "eval",
    "info",
    "export",
    "render",
    "report",
    "genotype",
    "import-darts",
    "study",
    "plant",
    "nb201",
    "bench",
    "list",
    "schema",
)


class WorkflowGroup(TyperGroup):
    """The ``factorspace`` group: commands listed in :data:`COMMAND_ORDER`, help shown as written.

    typer renders help text as rich markup, which would eat a literal ``[default: ...]`` (and
    raise on ``[/x]``); every help text is escaped once here, so what a command's author wrote is
    what ``--help`` prints.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        literal_help(self)

    def get_params(self, ctx) -> list:
        params = super().get_params(ctx)  # with typer's completion options, added after init
        for param in params:
            readable_placeholder(param)
        return params

    def list_commands(self, ctx) -> list[str]:
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda n: rank.get(n, len(rank)))


def literal_help(command) -> None:
    """Escape the rich markup in ``command``'s help texts and its subcommands', in place; show
    each parameter's placeholder as a user types it (:func:`readable_placeholder`)."""
    for attribute in ("help", "short_help", "epilog"):
        if isinstance(getattr(command, attribute, None), str):
            setattr(command, attribute, escape(getattr(command, attribute)))
    help_option = command.get_help_option(click.Context(command))  # made once, then cached
    for param in [*command.params, *([help_option] if help_option else [])]:
        if isinstance(getattr(param, "help", None), str):
            param.help = escape(param.help)
        readable_placeholder(param)
    for sub in getattr(command, "commands", {}).values():
        literal_help(sub)


def readable_placeholder(param) -> None:
    """typer shows Python types as placeholders: ``<bool>`` beside a flag, which takes no value,
    and ``<list[str]>`` beside a repeatable option. A flag gets none; a list, its item's
    placeholder and ``...`` (an option's own ``metavar``, such as ``KEY=VALUE``, is kept)."""
    if getattr(param, "_readable_placeholder", False):
        return
    param._readable_placeholder = True
    shown = param.display_type_rich

    def placeholder(ctx) -> str | None:
        if getattr(param, "is_flag", False):
            return None
        text = shown(ctx)
        match = re.fullmatch(r"<list\[(\w+)\]>", text or "")
        return f"<{match[1].lower()}>..." if match else text

    param.display_type_rich = placeholder


app = typer.Typer(
    cls=WorkflowGroup,
    no_args_is_help=True,
    help="Differentiable architecture search over factorized operator spaces.",
)
# User text (paths, recipe values, error messages) is printed as it is: no rich markup (a path
# with `[x]` in it would lose it, `[/x]` would raise), no `:emoji:` codes, no highlighting.
# Styles come only from labelled(), never from text.
out = Console(markup=False, emoji=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, markup=False, emoji=False, highlight=False, soft_wrap=True)


def labelled(label: str, style: str, message: object = None) -> Text:
    """``label: message`` with ``label`` styled and ``message`` literal (``label`` alone if none)."""
    if message is None:
        return Text(label, style=style)
    return Text.assemble((f"{label}:", style), f" {message}")


def _print_version(value: bool) -> None:
    if value:
        out.print(f"factorspace {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    # The options before the command; the app's help= is the group's help.
    pass


RecipeArg = Annotated[Path, typer.Argument(help="a recipe YAML file")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="KEY=VALUE", help="override a recipe field: dotted.key=value (repeatable)"
    ),
]


EXIT_CODES = (
    "Exit codes: 0 done; 2 bad input (one message naming the file, line and field); 130 stopped "
    "by Ctrl-C, SIGTERM or SIGHUP after writing a checkpoint: the printed `factorspace ... --resume "
    "RUN` continues it."
)


DEVICE_NAME = re.compile(r"auto|cpu|cuda(:\d+)?")  # what factorspace.run.device resolves


def checked_device(device: object) -> None:
    """Refuse a ``--device`` other than auto, cpu, cuda or cuda:N before anything starts (torch
    accepts mps, xla or meta and fails later)."""
    if isinstance(device, str) and not DEVICE_NAME.fullmatch(device):
        raise FactorspaceError(f"--device {device}: expected auto, cpu, cuda or cuda:N")


def said_plainly(show):
    """``warnings.showwarning`` that prints factorspace's own warnings (a record rewritten from
    the checkpoint on resume) as one ``warning: ...`` line, not Python's ``FILE:LINE: Class:``
    and source line; others as ``show`` does."""

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("factorspace."):
            err.print(labelled("warning", "yellow", message), soft_wrap=True)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning


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
            with warnings.catch_warnings():  # restores showwarning after the command
                warnings.showwarning = said_plainly(warnings.showwarning)
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
