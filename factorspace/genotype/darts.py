"""DARTS-format genotype strings: ``Genotype(normal=[(op, source), ...], normal_concat=..., ...)``.

DARTS-family code (quark0/darts ``cnn/genotypes.py`` and its descendants) prints genotypes this
way. A string read with :func:`from_darts_string` gets ``{"activation": "relu"}`` on its
parameterized edges, as DARTS's networks use ReLU there.
"""

from __future__ import annotations

import ast
import collections
from typing import Any

from factorspace.errors import FactorspaceError, clip, shown
from factorspace.genotype.model import CELL_TYPES, Genotype, GenotypeCell, GenotypeEdge
from factorspace.registry import OPERATORS
from factorspace.schema.space import MAX_NODES, did_you_mean

_DARTS_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
MAX_CHARS = 20_000  # DARTS's genotypes print in about 600; MAX_NODES nodes in about 3,000
MAX_NESTING = 8  # brackets: Genotype( [ ( ... ) ] ) is 3 deep
MAX_PAIRS = 2 * MAX_NODES  # two (op, source) pairs per intermediate node
MAX_CONCAT = MAX_NODES + 2  # the cell's inputs and its intermediate nodes
_DartsGenotype = collections.namedtuple("Genotype", _DARTS_FIELDS)


def from_darts_string(text: str, *, name: str | None = None, source: str | None = None) -> Genotype:
    """Read the ``Genotype(normal=[(op, source), ...], normal_concat=..., ...)`` repr that DARTS
    (quark0/darts ``cnn/genotypes.py``) and its descendants print; ``NAME = Genotype(...)`` too.

    The text is parsed with :mod:`ast`, never evaluated. Pairs come two per intermediate node, in
    node order; parameterized operators get ``inputs={"activation": "relu"}``. Concat may be a
    list or ``range(a, b)``; the form is kept so :func:`to_darts_string` reproduces it.

    Bounded before anything is built: at most :data:`MAX_CHARS` characters nested at most
    :data:`MAX_NESTING` brackets deep, :data:`MAX_PAIRS` pairs a cell and ``concat`` (a list or
    a range) of at most :data:`MAX_CONCAT` nodes, so a hostile string costs milliseconds.

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

    if len(text) > MAX_CHARS:
        raise fail(f"{len(text):,} characters, more than {MAX_CHARS:,}")
    if _nesting(text) > MAX_NESTING:
        raise fail(f"brackets nested more than {MAX_NESTING} deep")
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


def _nesting(text: str) -> int:
    """The deepest bracket nesting of ``text`` (brackets inside quotes counted too: a DARTS
    string's operator names hold none)."""
    depth = deepest = 0
    for c in text:
        if c in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")]}":
            depth -= 1
    return deepest


def _cell_from_darts(pairs_node: ast.expr, concat_node: ast.expr, cell_type: str) -> GenotypeCell:
    pairs = _literal(pairs_node, cell_type)
    if not isinstance(pairs, (list, tuple)) or len(pairs) % 2:
        raise FactorspaceError(
            f"{cell_type}: DARTS lists two (op, source) pairs per intermediate node; "
            f"got {len(pairs) if isinstance(pairs, (list, tuple)) else shown(pairs)}"
        )
    if len(pairs) > MAX_PAIRS:
        raise FactorspaceError(
            f"{cell_type}: {len(pairs):,} pairs, more than {MAX_PAIRS} ({MAX_NODES} nodes)"
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
            raise FactorspaceError(f"{where}: expected an (op, source) pair, got {shown(pair)}")
        op, src = pair
        target = 2 + k // 2
        if op not in OPERATORS:
            raise FactorspaceError(
                f"{where}: unknown operator {shown(op)}{did_you_mean(op, OPERATORS.names())}"
            )
        if not 0 <= src < target:
            raise FactorspaceError(f"{where}: node {target} cannot take node {shown(src)} as input")
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
        start, stop = bounds if len(bounds) == 2 else (0, bounds[0])
        if stop - start > MAX_CONCAT:  # counted, not built: range(2, 10**13) costs nothing
            raise FactorspaceError(f"{where}: {stop - start:,} nodes, more than {MAX_CONCAT}")
        return list(range(start, stop)), "range"
    concat = _literal(node, where)
    if not isinstance(concat, (list, tuple)) or not all(isinstance(n, int) for n in concat):
        raise FactorspaceError(f"{where}: expected a list of node numbers or range(a, b)")
    if len(concat) > MAX_CONCAT:
        raise FactorspaceError(f"{where}: {len(concat):,} nodes, more than {MAX_CONCAT}")
    return list(concat), "list"


def _literal(node: ast.expr, where: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        raise FactorspaceError(
            f"{where}: expected literal values, got {clip(ast.unparse(node))}"
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
    if genotype.cell_family != "darts":
        raise FactorspaceError(
            f"a {genotype.cell_family} genotype cannot be a DARTS string, which holds DARTS's "
            "normal and reduction cells (an nb201 genotype's string: "
            "factorspace.cells.nb201.to_nb201_string)"
        )
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
