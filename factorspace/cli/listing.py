"""`factorspace list`: what a recipe or a genotype can name."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer
from rich.table import Table

from factorspace.cli.app import app, out, reports_errors
from factorspace.cli.imports import ImportOpt, import_extensions

Section = Literal["operators", "activations", "recipes", "zoo", "all"]


@app.command("list")
@reports_errors
def list_(
    section: Annotated[
        Section, typer.Argument(help="operators, activations, recipes, zoo or all")
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    imports: ImportOpt = None,
) -> None:
    """List the registered operators (tags, arguments) and activations, the shipped recipes and
    the zoo genotypes; `--import my_ops` adds a module's own."""
    from factorspace.catalog import SECTIONS, catalog

    import_extensions(imports)
    listed = catalog(SECTIONS if section == "all" else (section,))
    if as_json:
        typer.echo(json.dumps(listed, indent=2, default=repr))
        return
    for name, rows in listed.items():
        out.print(_table(name, rows))


def _table(section: str, rows: list[dict]) -> Table:
    table = Table(title=f"{section} ({len(rows)})", title_justify="left", show_edge=False)
    columns = {
        "operators": ("name", "tags", "arguments", "description"),
        "activations": ("name", "description"),
        "recipes": ("name", "description"),
        "zoo": ("name", "source"),
    }[section]
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(column, row) for column in columns))
    return table


def _cell(column: str, row: dict) -> str:
    value = row[column]
    if column == "tags":
        return ", ".join(value)
    if column == "arguments":
        return "; ".join(_argument(k, v) for k, v in value.items())
    if column == "description" and row.get("module", "").split(".")[0] not in ("", "factorspace"):
        return f"{value} (from {row['module']})".strip()
    return str(value or "")


def _argument(keyword: str, info: dict) -> str:
    text = keyword + (f"={info['default']!r}" if "default" in info else "")
    accepts = info.get("accepts")
    if isinstance(accepts, list):
        return f"{text} in {{{', '.join(map(repr, accepts))}}}"
    return f"{text}, {accepts}" if accepts else text
