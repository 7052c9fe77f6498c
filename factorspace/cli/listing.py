"""`factorspace list`: what a recipe or a genotype can name."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from factorspace.cli.app import app, out, reports_errors
from factorspace.cli.imports import ImportOpt, import_extensions
from factorspace.genotype import get_genotype, list_genotypes
from factorspace.loader.shipped import list_recipes
from factorspace.registry import ACTIVATIONS, OPERATORS, list_activations, list_operators

Section = Literal["operators", "activations", "recipes", "zoo", "all"]
SECTIONS = ("operators", "activations", "recipes", "zoo")


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


def catalog(sections: tuple[str, ...] = SECTIONS) -> dict[str, list[dict[str, Any]]]:
    """The listed ``sections`` as plain data (what ``--json`` prints)."""
    makers = {"operators": _operators, "activations": _activations, "recipes": _recipes}
    return {section: makers.get(section, _zoo)() for section in sections}


def _operators() -> list[dict[str, Any]]:
    entries = [OPERATORS.get(n) for n in list_operators()]
    return [
        {
            "name": e.name,
            "tags": sorted(e.tags),
            "arguments": e.argument_info(),
            "description": e.description,
            "module": e.module,
        }
        for e in entries
    ]


def _activations() -> list[dict[str, Any]]:
    entries = [ACTIVATIONS.get(n) for n in list_activations()]
    return [{"name": e.name, "description": e.description, "module": e.module} for e in entries]


def _recipes() -> list[dict[str, Any]]:
    return [
        {"name": r.name, "path": str(r.path), "description": r.description} for r in list_recipes()
    ]


def _zoo() -> list[dict[str, Any]]:
    return [{"name": n, "source": get_genotype(n).source} for n in list_genotypes()]
