"""Read a YAML document safely: bounded size, bounded alias expansion, a line for every field.

Recipes, genotypes and study files all come through here. The limits make a hostile or
broken file cost milliseconds, never gigabytes: the size is checked before parsing, and the
node tree is walked once, each anchor's values counted (and their lines taken) a single time,
so a "billion laughs" document or a self-referencing alias is refused before anything
expands it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import yaml

from factorspace.errors import RecipeError, clip, format_loc, shown

Loc = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024
"""Largest file read (1 MiB): a recipe or a genotype is a few kilobytes."""
MAX_VALUES = 100_000
"""Most values a document may hold, each use of an alias counting its anchor's values again."""
MAX_DEPTH = 100
"""Deepest nesting of lists and mappings (a recipe is about six levels deep)."""

_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


class Lines(dict):
    """The line of every key and list item, by location (``("space", "factors", 0)``).

    ``aliases`` maps the location of each use of a YAML alias to its anchor's location:
    :func:`line_of` places a field under an alias at the line where the anchor wrote it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.aliases: dict[Loc, Loc] = {}


def line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of ``loc``, or of its closest located parent; None when nothing is located."""
    aliases = getattr(lines, "aliases", {})
    for n in range(len(loc), -1, -1):
        head = loc[:n]
        if n < len(loc) and head in aliases:
            return line_of((*aliases[head], *loc[n:]), lines)
        if head in lines:
            return lines[head]
    return None


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``, refusing a file over :data:`MAX_BYTES` before reading it.

    Raises:
        RecipeError: naming the file (and the line, where there is one) for a missing,
            oversized, unreadable or non-UTF-8 file, a directory or a symlink loop.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            _refuse_size(path, os.fstat(f.fileno()).st_size)
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise RecipeError("no such file", path=path) from None
    except IsADirectoryError:
        raise RecipeError("is a directory, not a file", path=path) from None
    except PermissionError:
        raise RecipeError("cannot read: permission denied", path=path) from None
    except OSError as e:
        why = "a symlink loop" if e.errno == errno.ELOOP else e.strerror or e.__class__.__name__
        raise RecipeError(f"cannot read: {why}", path=path) from None
    if len(raw) > MAX_BYTES:  # a pipe or device: no size known before reading
        _refuse_size(path, len(raw), at_least=True)
    return _decoded(raw, path)


def _refuse_size(path: Path, size: int, at_least: bool = False) -> None:
    if size > MAX_BYTES:
        more = "more than " if at_least else ""
        raise RecipeError(
            f"the file is {more}{size:,} bytes, over the limit of {MAX_BYTES:,} bytes "
            "(a recipe or genotype is a few kilobytes)",
            path=path,
        )


def _decoded(raw: bytes, path: Path) -> str:
    if raw.startswith(_UTF16_32_BOMS):
        raise RecipeError("the file is UTF-16 or UTF-32 text; save it as UTF-8", path=path, line=1)
    nul = raw.find(b"\0")
    if nul >= 0:
        raise RecipeError(
            "the file contains a NUL byte: it is binary, or UTF-16 text; save it as UTF-8",
            path=path,
            line=raw.count(b"\n", 0, nul) + 1,
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RecipeError(
            f"not UTF-8 text: byte 0x{raw[e.start]:02x} cannot be read (a Latin-1 or "
            "Windows-1252 file?); save it as UTF-8",
            path=path,
            line=raw.count(b"\n", 0, e.start) + 1,
        ) from None


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, noting the line of each alias (the composer forgets it)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.alias_lines: dict[tuple[int, int], int] = {}
        self.composed = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            if parent is not None and index is not None:
                where = index if isinstance(index, int) else id(index)
                self.alias_lines[id(parent), where] = self.peek_event().start_mark.line + 1
        else:  # stop parsing a huge document early: parsing costs seconds a megabyte
            self.composed += 1
            if self.composed > MAX_VALUES:
                raise _TooManyValues(self.peek_event().start_mark.line + 1)
        return super().compose_node(parent, index)


class _TooManyValues(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


TOO_MANY_VALUES = (
    f"the document holds more than {MAX_VALUES:,} values (each use of a YAML alias counts its "
    "anchor's values again); a recipe holds a few hundred"
)


def parse_yaml(text: str, path: Path) -> tuple[Any, Lines]:
    """The YAML document in ``text`` and the line of every key and list item, by location.

    Aliases are allowed, within :data:`MAX_VALUES` values in all; each use of one gets its own
    copy of the anchor's values. A key given twice in one mapping is refused (YAML would keep
    the last).

    Raises:
        RecipeError: ``FILE:LINE: message`` for a syntax error, a duplicate key, a recursive
            alias, a document over the limits, or a value YAML cannot construct.
    """
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as e:  # the reader checks the whole text first
        raise _unreadable(e, text, path) from None
    try:
        node = _composed(loader, path)
        if node is None:
            return None, Lines()
        lines = _Walk(path, loader.alias_lines).lines_of(node)
        return _unshared(_constructed(loader, node, path)), lines
    finally:
        loader.dispose()


def _composed(loader: _Loader, path: Path) -> yaml.Node | None:
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = clip(e.problem or str(e), 200)
        line = mark.line + 1 if mark else None
        raise RecipeError(f"YAML syntax error: {problem}", path=path, line=line) from None
    except yaml.reader.ReaderError as e:
        raise _unreadable(e, loader.buffer, path) from None
    except yaml.YAMLError as e:
        raise RecipeError(f"YAML syntax error: {clip(str(e), 200)}", path=path) from None
    except _TooManyValues as e:
        raise RecipeError(TOO_MANY_VALUES, path=path, line=e.line) from None
    except RecursionError:
        raise RecipeError(
            f"nested more than {MAX_DEPTH} levels deep", path=path, line=loader.get_mark().line + 1
        ) from None


def _unreadable(e: yaml.reader.ReaderError, text: str, path: Path) -> RecipeError:
    line = text.count("\n", 0, e.position) + 1 if e.position >= 0 else None
    what = f"#x{e.character:04x}" if isinstance(e.character, int) else repr(e.character)
    message = f"YAML syntax error: the control character {what} is not allowed in YAML text"
    return RecipeError(message, path=path, line=line)


# YAML types that construct what no recipe, genotype or study field means: a set's order is
# the hash order (it would differ from run to run), bytes are not text.
UNORDERED_OR_BYTES = {
    "tag:yaml.org,2002:set": "a YAML set (!!set) has no order, which the choices need; write a "
    "list: [a, b]",
    "tag:yaml.org,2002:binary": "a binary value (!!binary) is not text; write the value itself",
}


class _Walk:
    """One pass over the node tree: lines, duplicate keys, depth, recursion and expansion."""

    def __init__(self, path: Path, alias_lines: dict[tuple[int, int], int]) -> None:
        self.path, self.alias_lines = path, alias_lines
        self.lines = Lines()
        self.first: dict[int, Loc] = {}  # node id -> where it first appears (its anchor)
        self.values: dict[int, int] = {}  # node id -> values it expands to
        self.open: set[int] = set()  # ids of the nodes being walked (a cycle comes back to one)
        self.total = 0

    def lines_of(self, node: yaml.Node) -> Lines:
        self.visit(node, (), node.start_mark.line + 1, 0)
        return self.lines

    def visit(self, node: yaml.Node, loc: Loc, line: int, depth: int) -> None:
        key = id(node)
        self.lines.setdefault(loc, line)
        if key in self.open:
            self.refuse(
                "a YAML alias that contains itself (a recursive alias) cannot be read", line, loc
            )
        if key in self.first:  # a use of an alias: its lines are its anchor's, counted once
            self.lines.aliases[loc] = self.first[key]
            self.count(self.values[key], line, loc)
            return
        if depth > MAX_DEPTH:
            self.refuse(f"nested more than {MAX_DEPTH} levels deep", line, loc[:1])
        if node.tag in UNORDERED_OR_BYTES:
            self.refuse(UNORDERED_OR_BYTES[node.tag], line, loc)
        self.first[key], before = loc, self.total
        self.count(1, line, loc)
        self.open.add(key)
        for child, child_loc, child_line in self.children(node, loc):
            self.visit(child, child_loc, child_line, depth + 1)
        self.open.discard(key)
        self.values[key] = self.total - before

    def children(self, node: yaml.Node, loc: Loc):
        """(child node, its location, its line) in document order; duplicate keys refused."""
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                line = self.alias_lines.get((id(node), i), item.start_mark.line + 1)
                yield item, (*loc, i), line
        elif isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                if not isinstance(key, yaml.ScalarNode):
                    self.refuse("a key must be a plain name, not a list or a mapping", line, loc)
                child = (*loc, key.value)
                if key.value in first and key.value != "<<":
                    self.refuse(
                        f"duplicate key {shown(key.value)} (first at line {first[key.value]}); "
                        "YAML would silently keep the last",
                        line,
                        child,
                    )
                first[key.value] = line
                self.lines[child] = line
                yield value, child, line

    def count(self, values: int, line: int, loc: Loc) -> None:
        self.total += values
        if self.total > MAX_VALUES:
            self.refuse(TOO_MANY_VALUES, line, loc)

    def refuse(self, message: str, line: int, loc: Loc) -> None:
        raise RecipeError(message, path=self.path, line=line, field=format_loc(loc))


def _constructed(loader: _Loader, node: yaml.Node, path: Path) -> Any:
    """The Python value of ``node``; a value YAML cannot build (a 5,000-digit integer, a
    timestamp with month 13) is refused at its line."""
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        message = f"YAML error: {clip(e.problem or str(e), 200)}"
        raise RecipeError(message, path=path, line=line) from None
    except (ValueError, OverflowError, TypeError, RecursionError) as e:
        bad = _unbuildable_scalar(node)
        line = bad.start_mark.line + 1 if bad is not None else None
        value = f" {shown(bad.value)}" if bad is not None else ""
        raise RecipeError(
            f"cannot read the value{value}: {clip(str(e).split(';')[0], 120)}", path=path, line=line
        ) from None


def _unbuildable_scalar(root: yaml.Node) -> yaml.ScalarNode | None:
    constructor = yaml.constructor.SafeConstructor()
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node, deep=True)
            except Exception:  # whatever the scalar's constructor raised: this is the one
                return node
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in reversed(node.value) for n in reversed(pair))
    return None


def _unshared(value: Any) -> Any:
    """``value`` with each use of an alias its own copy (``--set`` then changes one place)."""
    if isinstance(value, dict):
        return {k: _unshared(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unshared(v) for v in value]
    return value
