"""Property tests of the schema and the compiler (hypothesis).

Random valid spaces (factors, roles, rules, sizes) compile, count their candidates as
``factorspace space --json`` reports them, and run forward and backward at a tiny size; random
mutations of a valid recipe are either valid or refused with a located FactorspaceError.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import factorspace as fs
from factorspace.cli import app
from factorspace.compile import Space
from factorspace.registry import OPERATORS

OPS = ["none", "skip_connect", "max_pool_3x3", "avg_pool_3x3", "sep_conv_3x3", "dil_conv_3x3"]
KERNEL_OPS = ["sep_conv", "conv"]  # take a `kernel_size` argument
ACTIVATIONS = ["relu", "relu6", "swish", "elu", "rrelu"]
VALID = Path(__file__).parent / "integration" / "bad_inputs" / "recipes" / "valid.yaml"
FAST = settings(
    max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def subset(pool, min_size=1):
    return st.lists(st.sampled_from(pool), min_size=min_size, max_size=len(pool), unique=True)


@st.composite
def spaces(draw) -> tuple[dict, dict[str, list[str]]]:
    """A valid space as YAML data, and which factors apply to each operator (to count with)."""
    ops = draw(subset(OPS + KERNEL_OPS))
    if ops == ["none"]:
        ops.append(draw(st.sampled_from(OPS[1:])))
    nonzero = [op for op in ops if op != "none"]
    factors = [{"name": "op", "role": "operator", "choices": ops}]
    applies: dict[str, list[str]] = {op: [] for op in ops}
    for i in range(draw(st.integers(0, 2))):
        factor = {"name": f"act{i}", "role": "input", "choices": draw(subset(ACTIVATIONS))}
        rule = draw(st.sampled_from(["choices", "tags"]))  # applies_to is required
        if rule == "choices":
            targets = draw(subset(nonzero))
            factor["applies_to"] = {"choices": targets}
        else:
            tag = draw(
                st.sampled_from(sorted({t for op in nonzero for t in OPERATORS.get(op).tags}))
            )
            factor["applies_to"] = {"tags": [tag]}
            targets = [op for op in nonzero if tag in OPERATORS.get(op).tags]
        factors.append(factor)
        for op in targets:
            applies[op].append(factor["name"])
    kernel_ops = [op for op in ops if op in KERNEL_OPS]
    if kernel_ops and draw(st.booleans()):
        factor = {
            "name": "kernel_size",
            "role": "argument",
            "choices": draw(subset([1, 3, 5])),
            "applies_to": {"choices": kernel_ops},
        }
        factors.append(factor)
        for op in kernel_ops:
            applies[op].append("kernel_size")
    space = {
        "mode": draw(st.sampled_from(["factorized", "joint"])),
        "factors": factors,
        "cell": {"nodes": draw(st.integers(1, 3)), "keep": draw(st.integers(1, 2))},
    }
    return space, applies


def expected_candidates(space: dict, applies: dict[str, list[str]]) -> int:
    sizes = {f["name"]: len(f["choices"]) for f in space["factors"]}
    return sum(math.prod(sizes[f] for f in applies[op]) for op in applies)


@FAST
@given(spaces(), st.integers(1, 3))
def test_random_valid_spaces_compile_count_and_run(drawn, cells):
    space, applies = drawn
    data = {
        "space": space,
        "supernet": {"channels": 2, "cells": cells, "classes": 3},
        "data": {"image_size": 8},
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recipe.yaml"
        path.write_text(yaml.safe_dump(data))
        result = CliRunner().invoke(app, ["space", str(path), "--json"])
        assert result.exit_code == 0, result.output
        reported = json.loads(result.stdout)
        recipe = fs.load_recipe(path)
    assert reported["candidates_per_edge"] == expected_candidates(space, applies)
    assert reported["candidates_per_edge"] == len(Space(recipe.space).candidates)
    net = fs.compile_supernet(recipe.space, recipe.supernet)
    logits = net(torch.randn(2, 3, 8, 8))
    assert logits.shape == (2, 3)
    logits.logsumexp(1).sum().backward()
    reductions = recipe.supernet.reductions
    present = {"reduce" if i in reductions else "normal" for i in range(cells)}
    for group, params in net.arch_parameters().items():
        for cell_type, p in zip(("normal", "reduce"), params, strict=True):
            if cell_type in present:  # a cell type the network has: its weights get gradients
                assert p.grad is not None and torch.isfinite(p.grad).all(), (group, cell_type)


def paths(node, prefix=()):
    """Every location in a YAML document: (path, value)."""
    yield prefix, node
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        yield from paths(value, (*prefix, key))


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 40),
    st.floats(-2, 2, allow_nan=False),
    st.sampled_from(["", "relu", "none", "sep_conv_3x3", "op", "x" * 3, "parameterized", "1e3"]),
    st.lists(st.sampled_from(["relu", "skip_connect", "op", 3]), max_size=3),
    st.dictionaries(
        st.sampled_from(["tags", "choices", "factor", "nodes", "typo"]), st.just([]), max_size=2
    ),
)


@st.composite
def mutations(draw):
    data = yaml.safe_load(VALID.read_text())
    locations = [p for p, _ in paths(data) if p]
    where = draw(st.sampled_from(locations))
    parent = data
    for key in where[:-1]:
        parent = parent[key]
    how = draw(st.sampled_from(["replace", "delete", "add_key", "duplicate"]))
    last = where[-1]
    if how == "replace":
        parent[last] = draw(VALUES)
    elif how == "delete":
        del parent[last]
    elif how == "add_key" and isinstance(parent[last], dict):
        parent[last][draw(st.sampled_from(["typo", "chanels", "choice", "role"]))] = draw(VALUES)
    elif how == "duplicate" and isinstance(parent, list):
        parent.append(parent[last])
    return data


@FAST
@given(mutations())
def test_random_mutations_are_valid_or_refused_with_a_located_message(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recipe.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        try:
            recipe = fs.load_recipe(path)
        except fs.FactorspaceError as e:
            message = str(e)
            assert message.startswith(f"{path}") and "\n" not in message, message
            return
    space = Space(recipe.space)
    assert len(space.candidates) >= 1 and space.space_size() >= 1
    if recipe.supernet.channels <= 16 and recipe.supernet.cells <= 8:
        net = fs.compile_supernet(recipe.space, recipe.supernet)
        size = recipe.data.image_size
        assert net(torch.randn(1, 3, size, size)).shape == (1, recipe.supernet.classes)
