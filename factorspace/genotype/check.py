"""Whether a genotype can be built, and whether it is an architecture of a given space.

Two levels, each one function that raises :class:`~factorspace.errors.FieldError` at the field:

- :func:`check_structure`: every cell is a DAG a network can be built from (what loading a file,
  drawing it and building its network need; with ``registered``, also the registries);
- :func:`check_fits_space`: every edge is a choice of the space's factors and every node keeps
  ``cell.keep`` inputs, as the search derives (DARTS: two per intermediate node).

:func:`check_buildable` and :func:`check_genotype` wrap them into a
:class:`~factorspace.errors.RecipeError` (``FILE: FIELD: message``) for callers without a file's
line numbers; :func:`~factorspace.genotype.io.load_genotype` adds the line.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from factorspace.errors import FieldError, RecipeError, clip, format_loc
from factorspace.genotype.model import Genotype, GenotypeCell, GenotypeEdge
from factorspace.registry import ACTIVATIONS, OPERATORS
from factorspace.schema.kinds import CELL_FAMILIES
from factorspace.schema.space import (
    ArgumentFactor,
    InputFactor,
    SpaceConfig,
    argument_refusal,
    did_you_mean,
)
from factorspace.space import Space


def check_structure(genotype: Genotype, *, registered: bool = False) -> None:
    """Raise :class:`FieldError` unless every cell is a graph a network can be built from.

    By the genotype's cell family (DARTS's: each edge's source precedes its target, every
    intermediate node up to the last has an incoming edge and ``concat`` names existing nodes);
    with ``registered``, the operators, activations and argument keywords are also in the
    registries.
    """
    family = _family(genotype)
    for cell_type, cell in genotype.cells().items():
        family.check_cell_structure(cell, (cell_type,), registered)


def _family(genotype: Genotype):
    """The genotype's family (its behaviour, :data:`~factorspace.schema.kinds.CELL_FAMILIES`)."""
    name = genotype.cell_family
    if name not in CELL_FAMILIES:
        names = CELL_FAMILIES.names()
        raise FieldError(
            ("family",),
            f"unknown cell family {name!r}{did_you_mean(name, names)}; known: {', '.join(names)}",
        )
    return CELL_FAMILIES.get(name)


def check_darts_structure(cell: GenotypeCell, loc: tuple, registered: bool) -> None:
    """A DARTS cell (the darts family's :meth:`check_cell_structure`): intermediate nodes from 2
    on, each fed by an earlier node, ``concat`` naming existing nodes, ``none`` never kept."""
    if not cell.edges:
        raise FieldError((*loc, "edges"), "a cell needs at least one edge")
    for i, edge in enumerate(cell.edges):
        if edge.target < 2:
            raise FieldError(
                (*loc, "edges", i, "target"),
                f"{edge.target}: in a DARTS cell nodes 0 and 1 are the inputs; an edge feeds an "
                "intermediate node, 2 or more",
            )
    last = max(e.target for e in cell.edges)
    for i, edge in enumerate(cell.edges):
        check_source_precedes_target(edge, (*loc, "edges", i))
        if registered:
            check_registered(edge, (*loc, "edges", i))
    missing = nodes_without_input(cell, last)
    if missing:
        shown = ", ".join(map(str, missing))
        raise FieldError((*loc, "edges"), f"nodes [{shown}] have no incoming edge")
    bad = [n for n in cell.concat if not 0 <= n <= last]
    if bad or not cell.concat:
        raise FieldError((*loc, "concat"), f"{clip(str(cell.concat))}: the nodes are 0..{last}")


def nodes_without_input(
    cell: GenotypeCell, last: int, shown: int = 5, first: int = 2
) -> list[int | str]:
    """The first ``shown`` nodes in ``first``..``last`` that no edge feeds (``...`` if more),
    found without enumerating the range: a ``target: 1000000000`` costs what a small one does."""
    targets = {e.target for e in cell.edges}
    missing = (n for n in range(first, last + 1) if n not in targets)
    found: list[int | str] = list(itertools.islice(missing, shown + 1))
    return found[:shown] + ["..."] if len(found) > shown else found


def check_registered(edge: GenotypeEdge, loc: tuple, *, zero: bool = False) -> None:
    """The edge's operator, activations and argument keywords are registered; ``zero``: a
    ``none`` edge is allowed (a family that keeps every edge)."""
    if edge.op not in OPERATORS:
        names = OPERATORS.names()
        raise FieldError(
            (*loc, "op"), f"unknown operator {edge.op!r}{did_you_mean(edge.op, names)}"
        )
    if not zero:
        _check_not_zero(edge, loc)
    for factor, name in edge.inputs.items():
        if name not in ACTIVATIONS:
            names = ACTIVATIONS.names()
            raise FieldError(
                (*loc, "inputs", factor), f"unknown activation {name!r}{did_you_mean(name, names)}"
            )
    entry = OPERATORS.get(edge.op)
    for keyword, value in edge.arguments.items():
        if not entry.accepts(keyword):
            raise FieldError(
                (*loc, "arguments", keyword), f"operator {edge.op!r} takes no argument {keyword!r}"
            )
        reason = argument_refusal(entry, keyword, value)
        if reason is not None:
            raise FieldError((*loc, "arguments", keyword), reason)


def check_source_precedes_target(edge: GenotypeEdge, loc: tuple) -> None:
    if edge.source >= edge.target:
        raise FieldError(
            (*loc, "source"),
            f"node {edge.target} takes inputs from nodes 0..{edge.target - 1}, not {edge.source}",
        )


def _check_not_zero(edge: GenotypeEdge, loc: tuple) -> None:
    if "zero" in OPERATORS.get(edge.op).tags:
        raise FieldError(
            (*loc, "op"), f"{edge.op!r} is the zero operator (no connection) and is never kept"
        )


def check_buildable(genotype: Genotype, *, path: str | Path | None = None) -> None:
    """Raise unless ``genotype``'s network can be built: :func:`check_structure` with the
    registries, as a :class:`~factorspace.errors.RecipeError` naming ``path`` and the field.

    Raises:
        RecipeError: e.g. ``normal.edges: nodes [3] have no incoming edge``.
    """
    try:
        check_structure(genotype, registered=True)
    except FieldError as e:
        raise RecipeError(e.message, path=path, field=format_loc(e.loc)) from None


def check_genotype(
    genotype: Genotype, space: Space | SpaceConfig, *, path: str | Path | None = None
) -> None:
    """Raise if ``genotype`` is not an architecture of ``space``.

    Every edge's operator must be a non-zero choice of the operator factor, with exactly the
    input factors (in factor order) and argument keywords that apply to it, each set to one of its
    choices; node ``t`` takes ``cell.keep`` distinct inputs from nodes ``< t``; ``concat`` lists
    the intermediate nodes.

    Raises:
        RecipeError: naming the field, e.g. ``normal.edges[3].inputs.activation: ...``, and
            ``path`` when given.
    """
    try:
        check_fits_space(genotype, space)
    except FieldError as e:
        raise RecipeError(e.message, path=path, field=format_loc(e.loc)) from None


def check_fits_space(genotype: Genotype, space: Space | SpaceConfig) -> None:
    """Raise :class:`FieldError` at the first field where ``genotype`` leaves ``space``."""
    if isinstance(space, SpaceConfig):
        space = Space(space)
    family = space.family
    if _family(genotype) is not family:
        raise FieldError(
            ("family",),
            f"a {genotype.cell_family} genotype, but the space's cell is {family.name}'s "
            f"(space.cell.kind: {family.name})",
        )
    for cell_type, cell in genotype.cells().items():
        family.check_cell_fits(cell, space, (cell_type,))


def check_darts_cell(cell: GenotypeCell, space: Space, loc: tuple) -> None:
    """A cell DARTS's rule derives from ``space`` (the darts family's :meth:`check_cell_fits`)."""
    last = space.nodes + 1
    seen = set()
    for i, edge in enumerate(cell.edges):
        _check_edge(edge, space, (*loc, "edges", i))
        if (edge.source, edge.target) in seen:
            raise FieldError(
                (*loc, "edges", i),
                f"a second edge from node {edge.source} to node {edge.target}; "
                "a node keeps distinct inputs",
            )
        seen.add((edge.source, edge.target))
    for node in range(2, last + 1):
        count = sum(e.target == node for e in cell.edges)
        if count != space.keep:
            raise FieldError(
                (*loc, "edges"),
                f"node {node} has {count} incoming edge{'s' * (count != 1)}; every intermediate "
                f"node keeps cell.keep = {space.keep}",
            )
    expected = list(range(2, last + 1))
    if cell.concat != expected:
        raise FieldError(
            (*loc, "concat"),
            f"concat must be the intermediate nodes {expected}, got {clip(str(cell.concat))}",
        )


def _check_edge(edge: GenotypeEdge, space: Space, loc: tuple) -> None:
    last = space.nodes + 1
    if edge.target < 2 or edge.target > last:
        raise FieldError(
            (*loc, "target"),
            f"no node {edge.target}: the intermediate nodes are 2..{last} "
            f"(cell.nodes = {space.nodes})",
        )
    check_source_precedes_target(edge, loc)
    check_edge_choices(edge, space, loc)


def check_edge_choices(edge: GenotypeEdge, space: Space, loc: tuple, *, zero: bool = False) -> None:
    """The edge's operator is a choice of the operator factor (``zero``: ``none`` may be one)
    and it sets exactly the input factors (in factor order) and arguments that apply to it,
    each to one of its choices."""
    op_factor = space.config.operator
    if edge.op not in op_factor.choices:
        raise FieldError(
            (*loc, "op"),
            f"{edge.op!r} is not a choice of factor {op_factor.name!r}"
            f"{did_you_mean(edge.op, op_factor.choices)}; choices: {', '.join(op_factor.choices)}",
        )
    if not zero:
        _check_not_zero(edge, loc)
    factors = space.config.factors
    _check_choices(
        edge.inputs,
        {f.name: f for f in space.input_factors(edge.op)},
        {f.name: f for f in factors if isinstance(f, InputFactor)},
        edge.op,
        (*loc, "inputs"),
        ordered=True,
    )
    _check_choices(
        edge.arguments,
        {f.argument: f for f in space.argument_factors(edge.op)},
        {f.argument: f for f in factors if isinstance(f, ArgumentFactor)},
        edge.op,
        (*loc, "arguments"),
        ordered=False,
    )


def _check_choices(
    given: dict, applicable: dict, known: dict, op: str, loc: tuple, *, ordered: bool
) -> None:
    """``given`` (key -> choice) must set exactly the ``applicable`` factors, each to a choice."""
    kind = "input factor" if ordered else "argument"
    for key, value in given.items():
        if key not in applicable:
            if key in known:
                message = f"factor {known[key].name!r} does not apply to {op!r}"
            else:
                message = (
                    f"unknown {kind} {key!r}{did_you_mean(key, list(known))}; "
                    f"{op!r} takes: {', '.join(applicable) or 'none'}"
                )
            raise FieldError((*loc, key), message)
        factor = applicable[key]
        if value not in factor.choices:
            choices = [str(c) for c in factor.choices]
            raise FieldError(
                (*loc, key),
                f"{value!r} is not a choice of factor {factor.name!r}"
                f"{did_you_mean(value, choices)}; choices: {', '.join(choices)}",
            )
    for key, factor in applicable.items():
        if key not in given:
            choices = ", ".join(str(c) for c in factor.choices)
            raise FieldError(
                loc, f"missing {key!r}: factor {factor.name!r} applies to {op!r} ({choices})"
            )
    if ordered and list(given) != list(applicable):
        raise FieldError(
            loc, f"list the {kind}s in factor order, {list(applicable)}: they apply in this order"
        )
