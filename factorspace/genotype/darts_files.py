"""DARTS genotypes where users keep them: a string on the command line, a ``genotypes.py`` of
``NAME = Genotype(...)`` lines (quark0/darts ``cnn/genotypes.py``), a ``.txt`` or a search log.

Files are read with :mod:`ast` (never imported or evaluated); a file that is not Python (a log
line ``genotype = Genotype(...)`` after a timestamp) is scanned for ``Genotype(...)`` calls.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

from factorspace.errors import FactorspaceError, clip
from factorspace.genotype.darts import MAX_CHARS, from_darts_string
from factorspace.genotype.model import Genotype
from factorspace.loader import read_text

DARTS_SUFFIXES = (".py", ".txt")
MAX_SCANNED = 200  # Genotype(...) calls read from a file that is not Python (a long log)
_CALL = re.compile(r"\bGenotype\s*\(")
_STRING = re.compile(r"^\s*(?:[A-Za-z_]\w*\s*=\s*)?(?:[A-Za-z_]\w*\.)*Genotype\s*\(")


def looks_like_darts_string(text: str) -> bool:
    """Whether ``text`` reads as ``Genotype(...)`` or ``NAME = Genotype(...)`` (not a path)."""
    return bool(_STRING.match(text))


def darts_file_reference(spec: str) -> tuple[Path, str | None] | None:
    """``(file, name)`` when ``spec`` is an existing ``.py``/``.txt`` file, optionally followed
    by ``:NAME`` (``genotypes.py:DARTS_V2``) or ``:K`` (the K-th genotype, ``-1`` the last)."""
    for file, name in ((spec, None), spec.rpartition(":")[::2]):
        path = Path(file)
        if file and path.suffix in DARTS_SUFFIXES and _is_file(path):
            return path, name or None
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system is no file
        return False


def read_darts_file(path: str | Path, name: str | None = None) -> Genotype:
    """The DARTS genotype in ``path`` named ``name`` (an assignment's name, or a 1-based index,
    ``-1`` the last), or the only one when ``name`` is None.

    Example::

        g = read_darts_file("darts/cnn/genotypes.py", "DARTS_V2")

    Raises:
        FactorspaceError: ``FILE: ...`` when the file holds no such genotype, several without a
            ``name``, or one that does not parse.
    """
    path = Path(path)
    found, aliases = _genotypes_in(read_text(path))
    texts = list(dict.fromkeys(text for _, text in found))
    if not texts:
        raise FactorspaceError(f"no DARTS `Genotype(...)` in {clip(str(path))}", file=path)
    names = [n for n, _ in found if n is not None]
    if name is None and len(texts) > 1:
        listed = ", ".join(dict.fromkeys(names)) or f"1..{len(texts)}"
        raise FactorspaceError(
            f"{len(texts)} genotypes here; pick one as {path}:NAME ({clip(listed, 200)})",
            file=path,
        )
    text = texts[0] if name is None else _pick(found, texts, aliases, name, path)
    label = name if name is not None and not _is_index(name) else _name_of(found, text)
    try:
        return from_darts_string(text, name=label, source=f"{path}" + (f":{label}" * bool(label)))
    except FactorspaceError as e:
        raise FactorspaceError(e.message, file=path, field=label) from None


def _is_index(name: str) -> bool:
    return bool(re.fullmatch(r"-?\d{1,6}", name))


def _name_of(found: list[tuple[str | None, str]], text: str) -> str | None:
    return next((n for n, t in found if t == text and n is not None), None)


def _pick(found, texts: list[str], aliases: dict[str, str], name: str, path: Path) -> str:
    if _is_index(name):
        k = int(name)
        if not (1 <= k <= len(texts) or -len(texts) <= k <= -1):
            raise FactorspaceError(f"no genotype {k}: there are {len(texts)}", file=path)
        return texts[k - 1 if k > 0 else k]
    seen = set()
    while name in aliases and name not in seen:  # DARTS = DARTS_V2
        seen.add(name)
        name = aliases[name]
    named = {n: t for n, t in found if n is not None}
    if name not in named:
        shown = ", ".join(named) or "none"
        raise FactorspaceError(f"no genotype named {name!r}; named here: {shown}", file=path)
    return named[name]


def _genotypes_in(text: str) -> tuple[list[tuple[str | None, str]], dict[str, str]]:
    """``[(name or None, "Genotype(...)"), ...]`` in file order, and ``{alias: name}``."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return [(None, call) for call in _scanned_calls(text)], {}
    found: list[tuple[str | None, str]] = []
    aliases: dict[str, str] = {}
    for node in tree.body:
        value = getattr(node, "value", None)
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        names = [t.id for t in targets if isinstance(t, ast.Name)] or [None]
        if _is_genotype_call(value):
            found += [(n, ast.get_source_segment(text, value)) for n in names]
        elif isinstance(value, ast.Name) and isinstance(node, ast.Assign):
            aliases.update({n: value.id for n in names if n is not None})
    return found, aliases


def _is_genotype_call(node: ast.AST | None) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)) == "Genotype"


def _scanned_calls(text: str) -> list[str]:
    """Each ``Genotype(...)`` in ``text`` up to its closing parenthesis (outside quotes); each
    scan stops after :data:`~factorspace.genotype.darts.MAX_CHARS` characters, and at most
    :data:`MAX_SCANNED` are scanned, so a file of unclosed calls costs no more than a long one."""
    calls = []
    for match in itertools.islice(_CALL.finditer(text), MAX_SCANNED):
        depth, quote = 0, None
        for i in range(match.end() - 1, min(len(text), match.start() + MAX_CHARS + 1)):
            c = text[i]
            if quote:
                quote = None if c == quote else quote
            elif c in "'\"":
                quote = c
            elif c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth == 0:
                    calls.append(text[match.start() : i + 1])
                    break
    return calls
