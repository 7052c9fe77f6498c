"""factorspace: differentiable architecture search over factorized operator spaces.

The public API, as a notebook uses it::

    import factorspace as fs

    recipe = fs.load_recipe("recipes/quickstart.yaml")
    supernet = fs.compile_supernet(recipe.space, recipe.supernet, device="cpu")
    print(fs.space_summary(recipe)["space_size"])
    result = fs.search(recipe, out="runs/quickstart")      # Algorithm 1, then derive
    fs.render_genotype(result.genotype, "cells.pdf")         # cells_normal.pdf, cells_reduce.pdf
    fs.list_operators("sep_conv*")                           # what a recipe can name
    trained = fs.train(result.run_dir / "genotype.json", "recipes/train_cifar.yaml")

``fs.search`` and ``fs.train`` are the functions; their packages stay importable as
``factorspace.search.*`` and ``factorspace.retrain.*`` through ``from ... import``.
"""

# ``search`` and ``train`` are bound after (and over) their packages of the same name.
from factorspace import ops  # noqa: F401  (registers the built-in operators and activations)
from factorspace._version import __version__ as __version__
from factorspace.cells import register_cell_family  # and registers the shipped cell families
from factorspace.compile import Space, Supernet, compile_supernet
from factorspace.derive import derive_genotype
from factorspace.errors import FactorspaceError, RecipeError
from factorspace.genotype import (
    Genotype,
    from_darts_string,
    list_genotypes,
    load_genotype,
    resolve_genotype,
    save_genotype,
)
from factorspace.loader import load_recipe
from factorspace.loader.extensions import import_extension
from factorspace.loader.shipped import list_recipes
from factorspace.registry import (
    list_activations,
    list_operators,
    register_activation,
    register_operator,
)
from factorspace.relax import register_relaxation
from factorspace.retrain import train
from factorspace.schema import Recipe
from factorspace.search import search
from factorspace.summary import space_summary
from factorspace.viz.render import render_genotype

__all__ = [
    "FactorspaceError",
    "Genotype",
    "Recipe",
    "RecipeError",
    "Space",
    "Supernet",
    "compile_supernet",
    "derive_genotype",
    "from_darts_string",
    "import_extension",
    "list_activations",
    "list_genotypes",
    "list_operators",
    "list_recipes",
    "load_genotype",
    "load_recipe",
    "register_activation",
    "register_cell_family",
    "register_operator",
    "register_relaxation",
    "render_genotype",
    "resolve_genotype",
    "save_genotype",
    "search",
    "space_summary",
    "train",
]
