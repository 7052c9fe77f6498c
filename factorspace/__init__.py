"""factorspace: differentiable architecture search over factorized operator spaces.

The public API, as a notebook uses it::

    import factorspace as fs

    recipe = fs.load_recipe("recipes/adarts_cifar.yaml")
    supernet = fs.compile_supernet(recipe.space, recipe.supernet, device="cpu")
    print(fs.space_summary(recipe)["space_size"])
"""

from factorspace import ops  # noqa: F401  (registers the built-in operators and activations)
from factorspace.compile import Space, Supernet, compile_supernet
from factorspace.errors import FactorspaceError, RecipeError
from factorspace.loader import load_recipe
from factorspace.registry import register_activation, register_operator
from factorspace.schema import Recipe
from factorspace.summary import space_summary

__version__ = "0.1.0"

__all__ = [
    "FactorspaceError",
    "Recipe",
    "RecipeError",
    "Space",
    "Supernet",
    "compile_supernet",
    "load_recipe",
    "register_activation",
    "register_operator",
    "space_summary",
]
