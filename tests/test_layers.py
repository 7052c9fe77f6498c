"""The layers of factorspace: no module imports a layer above its own, no loop between packages.

Every ``factorspace/**/*.py`` is read with :mod:`ast`: module-level imports and those inside
functions (the lazy ones), relative imports resolved. Importing ``factorspace.a.b`` runs
``factorspace/a/__init__.py`` too, so it counts as importing ``a`` as well; the package root's own
``__init__`` (the public facade) does not count, unless a module names the root itself
(``from factorspace import __version__``). Imports under ``if TYPE_CHECKING:`` never run and are
left out. docs/concepts.md ("Layers") draws the same table.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

PACKAGE = Path(__file__).resolve().parents[1] / "factorspace"
ROOT = "factorspace"

# Bottom to top: a module may import modules of its own layer and of the layers below. Each name
# is a module or package under factorspace/ (the longest match places a module); "" is the package
# root, factorspace/__init__.py. A new package must be added here: the test names any module it
# cannot place.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version"),
    ("registry", "ops"),
    ("schema", "schemas"),
    ("run",),  # devices, seeds, run directories: nothing above schema, so anything can use it
    ("loader", "space"),
    # relax: the relaxations (softmax, Gumbel, Dirichlet); regularize, select: the regularizers
    # and selection rules (beta-DARTS, SDARTS, DARTS-; DARTS-PT), on the supernet they are given
    ("genotype", "relax", "regularize", "select"),
    ("compile", "data"),
    ("derive", "summary", "search", "retrain", "bench", "estimate"),
    ("study", "evidence", "cells"),  # studies; the planted benchmark; the cell families
    ("viz",),
    ("cli", "__main__", ""),
)

# Imports that break a rule today and are being removed by the restructuring of issue 16.
# (importer, the module its import line names): why it is here. Empty this as they go; never add
# to it to make a new import pass.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


PICTURE_NAMES = 52  # docs/concepts.md's picture: the names' width, before the descriptions


class Import(NamedTuple):
    importer: str  # the module whose file holds the import
    named: str  # what the import line names: a factorspace module, or a third-party top name
    target: str  # a module that importing ``named`` runs (``named`` or one of its packages)
    line: int


# --- reading the imports -----------------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                yield from runtime_imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from runtime_imports(node)


def named_modules(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules an import names: ``from a import b`` names ``a.b`` when that is a module."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module if modules()[module].name == "__init__.py" else module.rpartition(".")[0]
        package = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base


def targets(named: str) -> Iterator[str]:
    """The factorspace modules importing ``named`` runs: it and its packages, less the root."""
    parts = named.split(".")
    for k in range(len(parts), 0, -1):
        candidate = ".".join(parts[:k])
        if candidate in modules() and (candidate != ROOT or k == len(parts)):
            yield candidate


@functools.cache
def imports() -> tuple[Import, ...]:
    found = []
    for module, path in modules().items():
        for node in runtime_imports(ast.parse(path.read_text(), str(path))):
            for named in named_modules(module, node):
                if named.split(".")[0] != ROOT:
                    found.append(Import(module, named.split(".")[0], "", node.lineno))
                    continue
                found += [Import(module, named, t, node.lineno) for t in targets(named)]
    return tuple(found)


def checked_imports() -> list[Import]:
    """The imports between factorspace modules, less the known violations."""
    return [
        i
        for i in imports()
        if i.target and i.target != i.importer and (i.importer, i.named) not in KNOWN_VIOLATIONS
    ]


# --- placing modules ---------------------------------------------------------------------------


def layer_key(module: str) -> str | None:
    """The LAYERS entry that places ``module``: the longest one it is or lies under."""
    relative = "" if module == ROOT else module.removeprefix(f"{ROOT}.")
    keys = [k for layer in LAYERS for k in layer]
    matches = [k for k in keys if relative == k or (k and relative.startswith(f"{k}."))]
    return max(matches, key=len, default=None)


def layer_of(module: str) -> int:
    key = layer_key(module)
    return next(n for n, layer in enumerate(LAYERS) if key in layer)


def package_of(module: str) -> str:
    """The top-level package (or module) of factorspace that ``module`` belongs to."""
    return module.split(".")[1] if "." in module else module


def where(i: Import) -> str:
    return f"{modules()[i.importer].relative_to(PACKAGE.parent)}:{i.line}"


def third_party_reached(start: str, name: str) -> list[str] | None:
    """A chain of imports from module ``start`` to the third-party ``name``, or None."""
    edges: dict[str, list[Import]] = {}
    for i in imports():
        if (i.importer, i.named) not in KNOWN_VIOLATIONS:
            edges.setdefault(i.importer, []).append(i)
    seen, stack = {start}, [(start, [start])]
    while stack:
        module, chain = stack.pop()
        for i in edges.get(module, []):
            if not i.target and i.named == name:
                return [*chain, name]
            if i.target and i.target not in seen:
                seen.add(i.target)
                stack.append((i.target, [*chain, i.target]))
    return None


# --- the layers --------------------------------------------------------------------------------


def test_every_module_has_a_layer():
    unplaced = [m for m in modules() if layer_key(m) is None]
    assert not unplaced, (
        f"modules with no layer: {unplaced}; add their package to LAYERS in tests/test_layers.py "
        "and to the picture in docs/concepts.md"
    )


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{where(i)}: {i.importer} (layer {layer_of(i.importer)}) imports {i.named}"
        + (f", which runs {i.target}" if i.target != i.named else "")
        + f" (layer {layer_of(i.target)})"
        for i in checked_imports()
        if layer_of(i.target) > layer_of(i.importer)
    ]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_import_loop_between_packages():
    graph: dict[str, set[str]] = {}
    for i in checked_imports():
        if package_of(i.importer) != package_of(i.target):
            graph.setdefault(package_of(i.importer), set()).add(package_of(i.target))

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack += graph.get(node, ())
        return False

    loops = sorted(
        {" <-> ".join(sorted((p, q))) for p, qs in graph.items() for q in qs if reaches(q, p)}
    )
    assert not loops, f"packages that import each other (directly or through others): {loops}"


def test_known_violations_still_exist():
    """An entry whose import is gone must leave the list, so the list cannot hide a new one."""
    present = {(i.importer, i.named) for i in imports()}
    stale = [k for k in KNOWN_VIOLATIONS if k not in present]
    assert not stale, f"remove from KNOWN_VIOLATIONS (the import is gone): {stale}"


# --- the rules the design relies on ------------------------------------------------------------


def test_nothing_below_viz_imports_viz():
    importers = sorted(
        {
            i.importer
            for i in checked_imports()
            if package_of(i.target) == "viz" and package_of(i.importer) not in ("viz", "cli", ROOT)
        }
    )
    assert not importers, f"only the CLI and the package root may import viz; also: {importers}"


def test_matplotlib_is_imported_in_viz_only():
    outside = [
        f"{where(i)}: {i.importer}"
        for i in imports()
        if i.named == "matplotlib" and package_of(i.importer) != "viz"
    ]
    assert not outside, f"matplotlib imported outside factorspace/viz/: {outside}"


def test_search_and_retrain_import_no_matplotlib():
    chains = [
        " -> ".join(chain)
        for m in modules()
        if package_of(m) in ("search", "retrain")
        and (chain := third_party_reached(m, "matplotlib"))
    ]
    assert not chains, "search and retrain must not load matplotlib:\n" + "\n".join(chains)


def test_genotype_imports_no_torch():
    chains = [
        " -> ".join(chain)
        for m in modules()
        if package_of(m) == "genotype" and (chain := third_party_reached(m, "torch"))
    ]
    assert not chains, "genotype must not load torch:\n" + "\n".join(chains)


def test_run_imports_nothing_above_schema():
    allowed = {"errors", "_version", "registry", "ops", "schema", "run"}
    above = [
        f"{where(i)}: {i.importer} imports {i.named}"
        for i in checked_imports()
        if package_of(i.importer) == "run" and package_of(i.target) not in allowed
    ]
    assert not above, f"run/ may import only {sorted(allowed)} of factorspace: {above}"


# --- the test's own reading of imports ----------------------------------------------------------


def test_lazy_relative_and_package_imports_are_all_read():
    found = {(i.importer, i.named, i.target) for i in imports()}
    # a function-level import
    assert ("factorspace.viz.sections", "factorspace.summary", "factorspace.summary") in found
    # ``from factorspace.viz import plots`` names the module plots, and runs viz/__init__.py too
    assert ("factorspace.viz.report", "factorspace.viz.plots", "factorspace.viz") in found
    # ``from factorspace import ops`` names ops, not the root
    assert ("factorspace.schemas", "factorspace.ops", "factorspace.ops") in found
    assert not any(i.importer == "factorspace.schemas" and i.target == ROOT for i in imports())
    # ``from factorspace.ops import activations`` as a relative import would resolve the same
    tree = ast.parse("from . import kernels\nfrom .kernels import cat_channels")
    names = [n for node in runtime_imports(tree) for n in named_modules("factorspace.ops", node)]
    assert names == ["factorspace.ops.kernels", "factorspace.ops.kernels"]


def test_type_checking_imports_are_left_out():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\nelse:\n"
        "    import numpy\ndef f():\n    import matplotlib\n"
    )
    assert [ast.unparse(n) for n in runtime_imports(tree)] == [
        "from typing import TYPE_CHECKING",
        "import numpy",
        "import matplotlib",
    ]


def test_every_module_is_placed_by_its_longest_entry():
    assert layer_key("factorspace.space") == "space"
    assert layer_key("factorspace.compile.supernet") == "compile"
    assert layer_key(ROOT) == ""
    assert layer_key("factorspace.studies") is None  # a new package has no layer until placed
    assert layer_of("factorspace.space") < layer_of("factorspace.genotype")


def test_the_docs_picture_names_every_layer():
    """docs/concepts.md draws LAYERS, top to bottom; a package placed here must be drawn there."""
    docs = (PACKAGE.parent / "docs" / "concepts.md").read_text()
    picture = docs.split("## How the code is layered", 1)[1].split("```text", 1)[1]
    rows = picture.split("```", 1)[0].splitlines()
    # each row: the layer's names in the first PICTURE_NAMES columns, then what they do
    drawn = [set(row[:PICTURE_NAMES].replace("/", " ").replace("│", " ").split()) for row in rows]
    expected = [
        {k for k in layer if k not in ("", "__main__")}
        | ({"factorspace", "__init__.py"} if "" in layer else set())
        for layer in reversed(LAYERS)
    ]
    assert [d for d in drawn if d] == expected, "docs/concepts.md's picture differs from LAYERS"
