"""Typed configuration: a recipe and its parts. Defaults live here and nowhere else."""

from factorspace.schema.data import DataConfig
from factorspace.schema.network import SupernetConfig
from factorspace.schema.recipe import Recipe
from factorspace.schema.relaxation import (
    DirichletConfig,
    GumbelConfig,
    RelaxationConfig,
    SoftmaxConfig,
)
from factorspace.schema.search import ArchOptimizer, SearchConfig, WeightOptimizer
from factorspace.schema.space import (
    ArgumentFactor,
    CellConfig,
    InputFactor,
    OperatorFactor,
    Rule,
    SpaceConfig,
)
from factorspace.schema.train import NetworkConfig, TrainConfig, TrainRecipe

__all__ = [
    "ArchOptimizer",
    "ArgumentFactor",
    "CellConfig",
    "DataConfig",
    "DirichletConfig",
    "GumbelConfig",
    "InputFactor",
    "NetworkConfig",
    "OperatorFactor",
    "Recipe",
    "RelaxationConfig",
    "Rule",
    "SearchConfig",
    "SoftmaxConfig",
    "SpaceConfig",
    "SupernetConfig",
    "TrainConfig",
    "TrainRecipe",
    "WeightOptimizer",
]
