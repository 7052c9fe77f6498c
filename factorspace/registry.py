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

An operator may declare the values each of its arguments accepts (``arguments=``): a collection
of values, or a function returning why a value is refused (``None`` when it is accepted). Recipes'
argument-role factors and genotypes' edge arguments are checked against them by ``validate``::

    @register_operator("my_conv", tags={"parameterized"}, arguments={"kernel_size": {3, 5, 7}})
    def my_conv(channels, stride, affine, kernel_size=3): ...

Tags carry the facts the compiler needs, so no model code sniffs names:
``parameterized`` (has weights; the paper's activations apply to these), ``pooling`` (DARTS adds a
non-affine BatchNorm after it in the search supernet), ``zero`` (the ``none`` op: never kept, never
computed), ``skip`` (skip-connect, counted by collapse diagnostics).

Each entry remembers the module that registered it (``module``), so a genotype file can name the
modules its custom operators need (:func:`factorspace.loader.extensions.import_extension`
imports them again).
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from factorspace.errors import FactorspaceError

if TYPE_CHECKING:  # the registry itself needs no torch: genotypes and schemas import it
    from torch import nn

Factory = Callable[..., "nn.Module"]
T = TypeVar("T")

OPERATOR_TAGS = frozenset({"parameterized", "pooling", "zero", "skip"})
RESERVED_PARAMETERS = 3  # an operator factory's (channels, stride, affine), the compiler's

ArgumentCheck = Collection[Any] | Callable[[Any], "str | None"]
"""What an operator declares an argument accepts: the values, or ``check(value) -> why not``."""


@dataclass(frozen=True)
class OperatorEntry:
    """A registered operator: its factory and the tags rules and the compiler read."""

    name: str
    factory: Factory
    tags: frozenset[str] = frozenset()
    description: str = ""
    arguments: Mapping[str, ArgumentCheck] = field(default_factory=dict)
    module: str = ""
    """The module whose import registered it (``factorspace.ops...`` for the built-in ones)."""

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

    def argument_error(self, keyword: str, value: Any) -> str | None:
        """Why ``value`` is refused for ``keyword`` by the operator's declaration; ``None`` if it
        is accepted or the operator declares nothing about ``keyword``."""
        check = self.arguments.get(keyword)
        if check is None:
            return None
        if callable(check):
            reason = check(value)
            return (
                None if reason is None else f"operator {self.name!r}: {keyword}={value!r} {reason}"
            )
        if any(type(value) is type(v) and value == v for v in check):  # True is not 1
            return None
        accepted = ", ".join(repr(v) for v in sorted(check, key=repr))
        return f"operator {self.name!r} does not take {keyword}={value!r}; accepted: {accepted}"

    def build(self, channels: int, stride: int, affine: bool, **arguments: Any) -> nn.Module:
        return self.factory(channels, stride, affine, **arguments)

    def argument_info(self) -> dict[str, dict[str, Any]]:
        """Each keyword the factory takes after ``(channels, stride, affine)``, and each declared
        one: its ``default`` and what it ``accepts`` (the values, or the checking function)."""
        params = list(inspect.signature(self.factory).parameters.values())[RESERVED_PARAMETERS:]
        named = {p.name: p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        described: dict[str, dict[str, Any]] = {}
        for keyword in dict.fromkeys([*named, *self.arguments]):
            info: dict[str, Any] = {}
            param = named.get(keyword)
            if param is not None and param.default is not param.empty:
                info["default"] = param.default
            check = self.arguments.get(keyword)
            if callable(check):
                info["accepts"] = f"{getattr(check, '__name__', 'check')}(value)"
            elif check is not None:
                info["accepts"] = sorted(check, key=repr)
            described[keyword] = info
        return described


@dataclass(frozen=True)
class ActivationEntry:
    """A registered activation (an input-role transform)."""

    name: str
    factory: Factory
    description: str = ""
    module: str = ""
    """The module whose import registered it."""

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

    def build(self, config: Any, *, field: str) -> Any:
        """The registered class ``config.kind`` names, set up with ``config`` (registries of
        classes configured by a schema member: relaxations, regularizers, selection rules).

        Raises:
            FactorspaceError: at ``field``, when the kind has a schema member but no registered
                class (a plugin that declared its config and not its class).
        """
        if config.kind not in self._entries:
            raise FactorspaceError(
                f"{config.kind!r} has a schema member but no registered {self.kind}; "
                f"registered: {', '.join(self._entries)}",
                field=field,
            )
        return self._entries[config.kind](config)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)


OPERATORS: Registry[OperatorEntry] = Registry("operator")
ACTIVATIONS: Registry[ActivationEntry] = Registry("activation")


def register_operator(
    name: str,
    *,
    tags: set[str] | frozenset[str] = frozenset(),
    description: str = "",
    arguments: Mapping[str, ArgumentCheck] | None = None,
) -> Callable[[Factory], Factory]:
    """Register ``factory(channels, stride, affine, **arguments) -> nn.Module`` as ``name``.

    Args:
        arguments: keyword -> the values it accepts (a collection, compared by value and type),
            or a function ``check(value) -> str | None`` returning why a value is refused.

    Raises:
        ValueError: for an unknown tag.
        TypeError: when the factory cannot be called as ``(channels, stride, affine)`` or does
            not take a declared argument (naming the module and the function).
    """
    unknown = set(tags) - OPERATOR_TAGS
    if unknown:
        raise ValueError(f"unknown operator tags {sorted(unknown)}; known: {sorted(OPERATOR_TAGS)}")
    module = _caller_module()

    def decorate(factory: Factory) -> Factory:
        _require_positional(
            factory, RESERVED_PARAMETERS, f"operator {name!r}", OPERATOR_CALL, keywords=True
        )
        entry = OperatorEntry(
            name, factory, frozenset(tags), description, dict(arguments or {}), module
        )
        for keyword in entry.arguments:
            if not entry.accepts(keyword):
                raise TypeError(
                    f"operator {name!r}: {_qualified(factory)} declares argument {keyword!r} "
                    "but does not take it as a keyword after (channels, stride, affine)"
                )
        OPERATORS.add(name, entry)
        return factory

    return decorate


OPERATOR_CALL = "(channels, stride, affine, **arguments)"


def _caller_module(depth: int = 2) -> str:
    """The ``__name__`` of the module calling the ``register_*`` function: importing it registers
    the entry again (frame 0 is this function, 1 the ``register_*`` function)."""
    frame = inspect.currentframe()
    for _ in range(depth):
        frame = frame.f_back if frame is not None else None
    return frame.f_globals.get("__name__", "") if frame is not None else ""


def _qualified(factory: Callable) -> str:
    """``module.function``, how a user finds the factory."""
    module = getattr(factory, "__module__", None) or "?"
    return f"{module}.{getattr(factory, '__qualname__', repr(factory))}"


def _require_positional(
    factory: Callable, count: int, what: str, call: str, *, keywords: bool = False
) -> None:
    """Refuse a factory that cannot be called with ``count`` positional values: the error
    surfaces at import, naming the function, not in the first step. Further required
    parameters are refused too, unless ``keywords`` (an operator's argument factors pass them)."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is p.empty and not keywords]
    if (len(positional) < count and not variadic) or len(required) > count:
        raise TypeError(
            f"{what}: {_qualified(factory)}{inspect.signature(factory)} must be callable as {call}"
        )


def register_activation(name: str, *, description: str = "") -> Callable[[Factory], Factory]:
    """Register ``factory(channels) -> nn.Module`` as the activation ``name``.

    Raises:
        TypeError: when the factory cannot be called as ``(channels)``, naming it.
    """
    module = _caller_module()

    def decorate(factory: Factory) -> Factory:
        _require_positional(factory, 1, f"activation {name!r}", "(channels)")
        ACTIVATIONS.add(name, ActivationEntry(name, factory, description, module))
        return factory

    return decorate


def registering_module(name: str) -> str:
    """The module that registered the operator or activation ``name`` (``""`` if unknown)."""
    for registry in (OPERATORS, ACTIVATIONS):
        if name in registry:
            return registry.get(name).module
    return ""


def list_operators(pattern: str = "*") -> list[str]:
    """The registered operators' names matching the shell-style ``pattern``, in registration
    order, e.g. ``list_operators("sep_conv*")``; a recipe's ``imports`` add theirs."""
    return [n for n in OPERATORS if fnmatch.fnmatchcase(n, pattern)]


def list_activations(pattern: str = "*") -> list[str]:
    """The registered activations' names matching ``pattern``, e.g. ``['relu', 'relu6', ...]``."""
    return [n for n in ACTIVATIONS if fnmatch.fnmatchcase(n, pattern)]
