"""Typed registries: the extension points of factorspace.

An operator or an activation is a factory registered under a name; recipes name it in YAML.
A user extends the space from their own module::

    from factorspace.registry import register_activation

    @register_activation("hardswish")
    def hardswish(channels: int) -> nn.Module:
        return nn.Hardswish()

and lists that module under ``imports:`` in the recipe.

Operator factories take ``(channels, stride, affine, **arguments)``: ``affine`` is False in the
search supernet (DARTS convention) and True in re-trained networks; ``arguments`` are the values of
the recipe's argument-role factors (e.g. ``kernel_size``). Activation factories take ``(channels)``.

Tags carry the facts the compiler needs, so no model code sniffs names:
``parameterized`` (has weights; the paper's activations apply to these), ``pooling`` (DARTS adds a
non-affine BatchNorm after it in the search supernet), ``zero`` (the ``none`` op: never kept, never
computed), ``skip`` (skip-connect, counted by collapse diagnostics).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:  # the registry itself needs no torch: genotypes and schemas import it
    from torch import nn

Factory = Callable[..., "nn.Module"]
T = TypeVar("T")

OPERATOR_TAGS = frozenset({"parameterized", "pooling", "zero", "skip"})


@dataclass(frozen=True)
class OperatorEntry:
    """A registered operator: its factory and the tags rules and the compiler read."""

    name: str
    factory: Factory
    tags: frozenset[str] = frozenset()
    description: str = ""

    def accepts(self, keyword: str) -> bool:
        """Whether the factory takes ``keyword`` as an argument-role value.

        The first three parameters (channels, stride, affine) are the compiler's, never a factor's.
        """
        params = list(inspect.signature(self.factory).parameters.values())
        reserved, rest = params[:3], params[3:]
        if keyword in {p.name for p in reserved}:
            return False
        if keyword in {p.name for p in rest}:
            return True
        return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)

    def build(self, channels: int, stride: int, affine: bool, **arguments: Any) -> nn.Module:
        return self.factory(channels, stride, affine, **arguments)


@dataclass(frozen=True)
class ActivationEntry:
    """A registered activation (an input-role transform)."""

    name: str
    factory: Factory
    description: str = ""

    def build(self, channels: int) -> nn.Module:
        return self.factory(channels)


@dataclass
class Registry(Generic[T]):
    """A name -> entry table that refuses duplicates and can list and unregister (for tests)."""

    kind: str
    _entries: dict[str, T] = field(default_factory=dict)

    def add(self, name: str, entry: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}") from None

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)


OPERATORS: Registry[OperatorEntry] = Registry("operator")
ACTIVATIONS: Registry[ActivationEntry] = Registry("activation")


def register_operator(
    name: str, *, tags: set[str] | frozenset[str] = frozenset(), description: str = ""
) -> Callable[[Factory], Factory]:
    """Register ``factory(channels, stride, affine, **arguments) -> nn.Module`` as ``name``."""
    unknown = set(tags) - OPERATOR_TAGS
    if unknown:
        raise ValueError(f"unknown operator tags {sorted(unknown)}; known: {sorted(OPERATOR_TAGS)}")

    def decorate(factory: Factory) -> Factory:
        OPERATORS.add(name, OperatorEntry(name, factory, frozenset(tags), description))
        return factory

    return decorate


def register_activation(name: str, *, description: str = "") -> Callable[[Factory], Factory]:
    """Register ``factory(channels) -> nn.Module`` as the activation ``name``."""

    def decorate(factory: Factory) -> Factory:
        ACTIVATIONS.add(name, ActivationEntry(name, factory, description))
        return factory

    return decorate
