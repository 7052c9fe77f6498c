"""`factorspace schema`: the JSON Schema of a recipe, for editors and other tools."""

from __future__ import annotations

from typing import Annotated

import typer

from factorspace.cli.app import app


@app.command()
def schema(
    train: Annotated[
        bool, typer.Option("--train", help="the schema of a train recipe (recipes/train_*.yaml)")
    ] = False,
) -> None:
    """Print the JSON Schema of a search recipe (or, with --train, of a train recipe).

    The same schema ships as factorspace/schemas/recipe.schema.json and train.schema.json, which
    each recipe's first line names for the YAML language server.
    """
    from factorspace.schemas import schema_text

    typer.echo(schema_text("train" if train else "search"), nl=False)
