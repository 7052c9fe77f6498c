"""A genotype: the discrete architecture a search derives, as a plain versioned document.

Node numbering follows DARTS: nodes 0 and 1 are the cell's inputs (c_{k-2}, c_{k-1}), nodes
2..N+1 the intermediate nodes. Each kept edge names its operator and the choice of every other
factor that applies to that operator (e.g. ``{"activation": "selu"}``); a factor with a single
choice is written too, so a genotype says everything a network needs. A DARTS genotype imported
with :func:`from_darts_string` gets ``{"activation": "relu"}`` on its parameterized edges, as
DARTS's networks use ReLU there.

This module reads and writes genotypes (JSON or YAML), checks one against a space, and converts
to and from the ``Genotype(normal=[...], normal_concat=...)`` strings DARTS-family code prints.
"""

from __future__ import annotations

import ast
import collections
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field

from factorspace.compile.candidates import Space
from factorspace.errors import FactorspaceError, FieldError, RecipeError, format_loc
from factorspace.loader import _line_of, parse_yaml, read_text, validate
from factorspace.registry import ACTIVATIONS, OPERATORS
from factorspace.schema.space import ArgumentFactor, InputFactor, SpaceConfig, Strict, did_you_mean

GENOTYPE_FORMAT = "factorspace.genotype"
GENOTYPE_VERSION = 1
CELL_TYPES = ("normal", "reduce")


class GenotypeEdge(Strict):
    source: int = Field(ge=0, description="input node: 0, 1 = cell inputs; 2.. = intermediate")
    target: int = Field(ge=2, description="intermediate node the edge feeds")
    op: str = Field(description="operator choice")
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="input-role factor -> activation, applied in this order before the operator",
    )
    arguments: dict[str, int | float | str] = Field(
        default_factory=dict, description="constructor keyword -> value (argument-role factors)"
    )


class GenotypeCell(Strict):
    edges: list[GenotypeEdge]
    concat: list[int] = Field(description="nodes concatenated into the cell's output")
    darts_concat_style: Literal["list", "range"] | None = Field(
        None,
        description="how the DARTS string this cell came from wrote `concat` ([2, 3, 4, 5] or "
        "range(2, 6)), so that exporting reproduces it",
    )


class Genotype(Strict):
    format: Literal["factorspace.genotype"] = GENOTYPE_FORMAT
    version: Literal[1] = GENOTYPE_VERSION
    name: str | None = None
    source: str | None = Field(None, description="where it comes from: a run, a paper")
    normal: GenotypeCell
    reduce: GenotypeCell


# --- files -------------------------------------------------------------------------------------


def save_genotype(genotype: Genotype, path: str | Path) -> Path:
    """Write ``genotype`` as JSON (``.json``) or YAML (``.yaml``/``.yml``), atomically.

    The text goes to a temporary file in the same folder, which then replaces ``path``: a reader
    never sees half a genotype. Returns the path written.

    Raises:
        FactorspaceError: for a suffix that names no format.
    """
    path = Path(path)
    data = genotype.model_dump(mode="json", exclude_none=True)
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(data, indent=2) + "\n"
    elif suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    else:
        raise FactorspaceError(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}; "
            "use .json, .yaml or .yml"
        )
    _write_atomic(path, text)
    return path


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_genotype(
    path: str | Path, *, space: Space | SpaceConfig | None = None, registered: bool = False
) -> Genotype:
    """Read a genotype file (JSON or YAML); with ``space``, also :func:`check_genotype` it.

    Without ``space`` the cells' shape is checked (:func:`check_structure`), and with
    ``registered`` also that every operator, activation and argument is in the registries (what
    building its network needs; drawing it does not).

    Example::

        g = load_genotype("runs/adarts/genotype.json", space=recipe.space)

    Raises:
        RecipeError: ``FILE:LINE: field: message`` for a file that is not a genotype, does not
            validate, or (given ``space``) does not fit the space.
    """
    path = Path(path)
    data, lines = parse_yaml(read_text(path), path)
    _require_genotype_document(data, path, lines)
    genotype = validate(Genotype, data, path, lines)
    if space is not None:
        _check(genotype, space, path, lines)
    else:
        try:
            check_structure(genotype, registered=registered)
        except FieldError as e:
            line = _line_of(e.loc, lines)
            raise RecipeError(e.message, path=path, line=line, field=format_loc(e.loc)) from None
    return genotype


def _require_genotype_document(data: Any, path: Path, lines: dict) -> None:
    if not isinstance(data, dict) or "format" not in data:
        hint = " (it looks like a recipe)" if isinstance(data, dict) and "space" in data else ""
        raise RecipeError(
            f"not a factorspace genotype{hint}: missing `format: {GENOTYPE_FORMAT}`", path=path
        )
    if data["format"] != GENOTYPE_FORMAT:
        raise RecipeError(
            f"not a factorspace genotype: format is {data['format']!r}, "
            f"expected {GENOTYPE_FORMAT!r}",
            path=path,
            line=lines.get(("format",)),
            field="format",
        )
    version = data.get("version", GENOTYPE_VERSION)
    if version != GENOTYPE_VERSION:
        raise RecipeError(
            f"genotype version {version!r} is not supported; this factorspace reads version "
            f"{GENOTYPE_VERSION}",
            path=path,
            line=lines.get(("version",)),
            field="version",
        )


# --- fitting a space ---------------------------------------------------------------------------


def check_structure(genotype: Genotype, *, registered: bool = False) -> None:
    """Raise :class:`FieldError` unless every cell is a DAG a network can be built from.

    Each edge's source precedes its target, every intermediate node up to the last has an
    incoming edge and ``concat`` names existing nodes; with ``registered``, the operators,
    activations and argument keywords are also in the registries.
    """
    for cell_type in CELL_TYPES:
        cell, loc = getattr(genotype, cell_type), (cell_type,)
        if not cell.edges:
            raise FieldError((*loc, "edges"), "a cell needs at least one edge")
        last = max(e.target for e in cell.edges)
        for i, edge in enumerate(cell.edges):
            if edge.source >= edge.target:
                raise FieldError(
                    (*loc, "edges", i, "source"),
                    f"node {edge.target} takes inputs from nodes 0..{edge.target - 1}, "
                    f"not {edge.source}",
                )
            if registered:
                _check_registered(edge, (*loc, "edges", i))
        missing = sorted(set(range(2, last + 1)) - {e.target for e in cell.edges})
        if missing:
            raise FieldError((*loc, "edges"), f"nodes {missing} have no incoming edge")
        bad = [n for n in cell.concat if not 0 <= n <= last]
        if bad or not cell.concat:
            raise FieldError((*loc, "concat"), f"{cell.concat}: the nodes are 0..{last}")


def _check_registered(edge: GenotypeEdge, loc: tuple) -> None:
    if edge.op not in OPERATORS:
        names = OPERATORS.names()
        raise FieldError(
            (*loc, "op"), f"unknown operator {edge.op!r}{did_you_mean(edge.op, names)}"
        )
    if "zero" in OPERATORS.get(edge.op).tags:
        raise FieldError(
            (*loc, "op"), f"{edge.op!r} is the zero operator (no connection) and is never kept"
        )
    for factor, name in edge.inputs.items():
        if name not in ACTIVATIONS:
            names = ACTIVATIONS.names()
            raise FieldError(
                (*loc, "inputs", factor), f"unknown activation {name!r}{did_you_mean(name, names)}"
            )
    for keyword in edge.arguments:
        if not OPERATORS.get(edge.op).accepts(keyword):
            raise FieldError(
                (*loc, "arguments", keyword), f"operator {edge.op!r} takes no argument {keyword!r}"
            )


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
    _check(genotype, space, path, {})


def _check(genotype: Genotype, space: Space | SpaceConfig, path, lines: dict) -> None:
    if isinstance(space, SpaceConfig):
        space = Space(space)
    try:
        for cell_type in CELL_TYPES:
            _check_cell(getattr(genotype, cell_type), space, (cell_type,))
    except FieldError as e:
        line = _line_of(e.loc, lines) if lines else None
        raise RecipeError(e.message, path=path, line=line, field=format_loc(e.loc)) from None


def _check_cell(cell: GenotypeCell, space: Space, loc: tuple) -> None:
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
            f"concat must be the intermediate nodes {expected}, got {cell.concat}",
        )


def _check_edge(edge: GenotypeEdge, space: Space, loc: tuple) -> None:
    last = space.nodes + 1
    if edge.target > last:
        raise FieldError(
            (*loc, "target"),
            f"no node {edge.target}: the intermediate nodes are 2..{last} "
            f"(cell.nodes = {space.nodes})",
        )
    if edge.source >= edge.target:
        raise FieldError(
            (*loc, "source"),
            f"node {edge.target} takes inputs from nodes 0..{edge.target - 1}, not {edge.source}",
        )
    op_factor = space.config.operator
    if edge.op not in op_factor.choices:
        raise FieldError(
            (*loc, "op"),
            f"{edge.op!r} is not a choice of factor {op_factor.name!r}"
            f"{did_you_mean(edge.op, op_factor.choices)}; choices: {', '.join(op_factor.choices)}",
        )
    if "zero" in OPERATORS.get(edge.op).tags:
        raise FieldError(
            (*loc, "op"), f"{edge.op!r} is the zero operator (no connection) and is never kept"
        )
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


# --- DARTS strings -----------------------------------------------------------------------------

_DARTS_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
_DartsGenotype = collections.namedtuple("Genotype", _DARTS_FIELDS)


def from_darts_string(text: str, *, name: str | None = None, source: str | None = None) -> Genotype:
    """Read the ``Genotype(normal=[(op, source), ...], normal_concat=..., ...)`` repr that DARTS
    (quark0/darts ``cnn/genotypes.py``) and its descendants print; ``NAME = Genotype(...)`` too.

    The text is parsed with :mod:`ast`, never evaluated. Pairs come two per intermediate node, in
    node order; parameterized operators get ``inputs={"activation": "relu"}``. Concat may be a
    list or ``range(a, b)``; the form is kept so :func:`to_darts_string` reproduces it.

    Example::

        g = from_darts_string("Genotype(normal=[('sep_conv_3x3', 0), ...], ...)")

    Raises:
        FactorspaceError: for text that is not such a genotype, or an unregistered operator.
    """
    fields = _parse_darts_call(text)
    cells = {
        cell_type: _cell_from_darts(fields[cell_type], fields[f"{cell_type}_concat"], cell_type)
        for cell_type in CELL_TYPES
    }
    return Genotype(name=name, source=source, **cells)


def _parse_darts_call(text: str) -> dict[str, ast.expr]:
    def fail(why: str) -> FactorspaceError:
        return FactorspaceError(f"not a DARTS genotype string: {why}")

    try:
        body = ast.parse(text.strip()).body
    except SyntaxError as e:
        where = f" (line {e.lineno}, column {e.offset})" if e.lineno else ""
        raise fail(f"{e.msg}{where}") from None
    except (ValueError, RecursionError) as e:  # null bytes, absurd nesting
        raise fail(str(e)) from None
    if len(body) != 1 or not isinstance(body[0], (ast.Expr, ast.Assign)):
        raise fail("expected one `Genotype(...)` expression")
    call = body[0].value
    func = getattr(call, "func", None)
    func_name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if not isinstance(call, ast.Call) or func_name != "Genotype":
        raise fail("expected a call `Genotype(normal=..., normal_concat=..., reduce=..., ...)`")
    if len(call.args) > len(_DARTS_FIELDS):
        raise fail(f"expected at most the fields {', '.join(_DARTS_FIELDS)}")
    fields = dict(zip(_DARTS_FIELDS, call.args, strict=False))  # positional ones first
    for kw in call.keywords:
        if kw.arg not in _DARTS_FIELDS:
            raise fail(f"unknown field {kw.arg!r}; expected {', '.join(_DARTS_FIELDS)}")
        fields[kw.arg] = kw.value
    missing = [f for f in _DARTS_FIELDS if f not in fields]
    if missing:
        raise fail(f"expected the fields {', '.join(_DARTS_FIELDS)}; missing {missing}")
    return fields


def _cell_from_darts(pairs_node: ast.expr, concat_node: ast.expr, cell_type: str) -> GenotypeCell:
    pairs = _literal(pairs_node, cell_type)
    if not isinstance(pairs, (list, tuple)) or len(pairs) % 2:
        raise FactorspaceError(
            f"{cell_type}: DARTS lists two (op, source) pairs per intermediate node; "
            f"got {len(pairs) if isinstance(pairs, (list, tuple)) else repr(pairs)}"
        )
    edges = []
    for k, pair in enumerate(pairs):
        where = f"{cell_type}[{k}]"
        if not (
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and isinstance(pair[0], str)
            and type(pair[1]) is int
        ):
            raise FactorspaceError(f"{where}: expected an (op, source) pair, got {pair!r}")
        op, src = pair
        target = 2 + k // 2
        if op not in OPERATORS:
            raise FactorspaceError(
                f"{where}: unknown operator {op!r}{did_you_mean(op, OPERATORS.names())}"
            )
        if not 0 <= src < target:
            raise FactorspaceError(f"{where}: node {target} cannot take node {src} as input")
        relu = {"activation": "relu"} if "parameterized" in OPERATORS.get(op).tags else {}
        edges.append(GenotypeEdge(source=src, target=target, op=op, inputs=relu))
    concat, style = _darts_concat(concat_node, f"{cell_type}_concat")
    return GenotypeCell(edges=edges, concat=concat, darts_concat_style=style)


def _darts_concat(node: ast.expr, where: str) -> tuple[list[int], str]:
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "range":
        bounds = [_literal(a, where) for a in node.args]
        if (
            node.keywords
            or not 1 <= len(bounds) <= 2
            or not all(isinstance(b, int) for b in bounds)
        ):
            raise FactorspaceError(f"{where}: expected range(a, b) with integers")
        return list(range(*bounds)), "range"
    concat = _literal(node, where)
    if not isinstance(concat, (list, tuple)) or not all(isinstance(n, int) for n in concat):
        raise FactorspaceError(f"{where}: expected a list of node numbers or range(a, b)")
    return list(concat), "list"


def _literal(node: ast.expr, where: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        raise FactorspaceError(
            f"{where}: expected literal values, got {ast.unparse(node)}"
        ) from None


def to_darts_string(genotype: Genotype, *, lossy: bool = False) -> str:
    """The genotype as DARTS prints it: ``Genotype(normal=[('sep_conv_3x3', 0), ...], ...)``.

    A DARTS string has no activations or arguments (DARTS's networks use ReLU), so an edge with a
    non-ReLU input or any argument raises unless ``lossy=True``, which drops them. Concat is
    written as the imported string wrote it; otherwise ``range(a, b)`` when contiguous, as
    DARTS's search prints it.

    Raises:
        FactorspaceError: for choices a DARTS string cannot hold (unless ``lossy``), or cells that
            are not two edges per node in node order.
    """
    values = {}
    for cell_type in CELL_TYPES:
        cell = getattr(genotype, cell_type)
        targets = [e.target for e in cell.edges]
        if targets != [2 + k // 2 for k in range(len(targets))]:
            raise FactorspaceError(
                f"{cell_type}: cannot be a DARTS string, which lists two edges per intermediate "
                f"node in node order; the edges' targets are {targets}"
            )
        for k, edge in enumerate(cell.edges):
            dropped = {**{f: a for f, a in edge.inputs.items() if a != "relu"}, **edge.arguments}
            if dropped and not lossy:
                raise FactorspaceError(
                    f"{cell_type}.edges[{k}]: {edge.op} with {dropped} cannot be a DARTS string "
                    "(DARTS has no activation or argument choices; it uses ReLU); pass lossy=True "
                    "to drop them"
                )
        values[cell_type] = [(e.op, e.source) for e in cell.edges]
        values[f"{cell_type}_concat"] = _concat_value(cell)
    return repr(_DartsGenotype(**values))


def _concat_value(cell: GenotypeCell) -> list[int] | range:
    concat = cell.concat
    contiguous = bool(concat) and concat == list(range(concat[0], concat[-1] + 1))
    if contiguous and (cell.darts_concat_style or "range") == "range":
        return range(concat[0], concat[-1] + 1)
    return list(concat)
