"""Fuzzing the CLI (hypothesis): random mutations of valid documents never get a traceback.

A valid recipe and a valid genotype are mutated at random places (a value replaced by a scalar,
a list, a mapping, a very long string, a huge or negative integer, NaN; a key deleted; an
unknown (or known) key added; a list item duplicated) and fed to ``validate`` and ``space`` (recipes) or
``info`` and ``render`` (genotypes). Whatever the document, the command exits 0 or 2, prints no
traceback, and on 2 prints exactly one ``error:`` line.

``FACTORSPACE_FUZZ_EXAMPLES=1000`` raises the number of documents each test tries (60 by
default, so the suite stays fast). Each example runs under a time and a memory limit, so that a
mutation that makes a command allocate gigabytes or loop fails the test instead of the machine.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import tempfile
import traceback
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from factorspace.cli import app

HERE = Path(__file__).resolve().parent
VALID_RECIPE = HERE / "bad_inputs" / "recipes" / "valid.yaml"
VALID_GENOTYPE = HERE / "bad_inputs" / "genotypes" / "valid.yaml"
EXAMPLES = int(os.environ.get("FACTORSPACE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same documents every run: a failure is a bug, never bad luck
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SECONDS_PER_COMMAND = 60
EXTRA_MEMORY = 4 * 1024**3  # bytes a command may allocate beyond what the test process holds

pytestmark = pytest.mark.slow

INTEGERS = st.sampled_from(
    [-1, 0, 1, 2, 3, 4, 7, 1000, 10**6, 10**9, 10**30, -(10**30), 2**63, 10**400]
)
FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, -0.5, 0.0, 1e300, 2.5])
STRINGS = st.one_of(
    st.sampled_from(
        [
            "",
            "relu",
            "none",
            "sep_conv_3x3",
            "skip_connect",
            "sep_conv",
            "op",
            "3x3",
            "[/x]",
            ":smile:",
            "../../outside",
            "x" * 100_000,
            "é" * 300,
        ]
    ),
    st.text(max_size=12),
)
SCALARS = st.one_of(st.none(), st.booleans(), INTEGERS, FLOATS, STRINGS)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["name", "op", "typo", "choices", "0"]), inner, max_size=3),
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(
    ["typo", "chanels", "choice", "role", "source", "target", "edges", "arguments", "kernel_size"]
)


def locations(node, prefix=()):
    """Every location in a document below its root."""
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        yield (*prefix, key)
        yield from locations(value, (*prefix, key))


def replacement(old) -> st.SearchStrategy:
    """Any value, or (as often) one of ``old``'s type: a wrong size more than a wrong type."""
    kinds = {bool: st.booleans(), int: INTEGERS, float: FLOATS, str: STRINGS}
    same = kinds.get(type(old))
    return VALUES if same is None else st.one_of(VALUES, same)


@st.composite
def mutated(draw, document: dict) -> dict:
    """``document`` (a fresh copy) with one to three random mutations."""
    data = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from([(), *locations(data)]))
        parent = data
        for key in where[:-1]:
            parent = parent[key]
        target = parent[where[-1]] if where else data
        how = draw(st.sampled_from(["replace", "delete", "add_key", "duplicate"]))
        if how == "replace" and where:
            parent[where[-1]] = draw(replacement(target))
        elif how == "delete" and where:
            del parent[where[-1]]
        elif how == "add_key" and isinstance(target, dict):
            target[draw(KEYS)] = draw(VALUES)
        elif how == "duplicate" and where and isinstance(parent, list):
            parent.append(json.loads(json.dumps(parent[where[-1]])))
    return data


@contextlib.contextmanager
def limited(seconds: int, extra_memory: int):
    """Raise TimeoutError after ``seconds``, MemoryError past ``extra_memory`` more bytes."""

    def expire(signum, frame):
        raise TimeoutError(f"the command ran over {seconds} s")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    statm = Path("/proc/self/statm")  # Linux; elsewhere only the time limit applies
    if statm.exists():
        held = int(statm.read_text().split()[0]) * resource.getpagesize()
        ceiling = held + extra_memory
        resource.setrlimit(
            resource.RLIMIT_AS,
            (ceiling if hard == resource.RLIM_INFINITY else min(ceiling, hard), hard),
        )
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def check_command(args: list[str], document: str) -> None:
    """Run the CLI; exit 0 or 2, no traceback, one ``error:`` line on 2."""
    with limited(SECONDS_PER_COMMAND, EXTRA_MEMORY):
        result = CliRunner().invoke(app, args)
    shown = f"{' '.join(args[:1])} on:\n{document[:2000]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"{shown}\nraised:\n{trace[-3000:]}")
    assert result.exit_code in (0, 2), f"{shown}\nexit {result.exit_code}\n{result.output}"
    assert "Traceback" not in result.stderr, f"{shown}\n{result.stderr}"
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, f"{shown}\n{result.stderr}"


def valid(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def valid_genotype() -> dict:
    """The corpus's valid genotype, one edge an operator with an argument (so one is mutated)."""
    data = valid(VALID_GENOTYPE)
    data["normal"]["edges"][2] = {
        "source": 0,
        "target": 3,
        "op": "sep_conv",
        "arguments": {"kernel_size": 5},
        "inputs": {"activation": "swish"},
    }
    return data


def test_the_documents_mutated_are_valid(tmp_path):
    recipe, genotype = tmp_path / "recipe.yaml", tmp_path / "genotype.json"
    recipe.write_text(yaml.safe_dump(valid(VALID_RECIPE)), encoding="utf-8")
    genotype.write_text(json.dumps(valid_genotype()), encoding="utf-8")
    for args in (["space", str(recipe)], ["info", str(genotype)]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output


@FUZZ
@given(mutated(valid(VALID_RECIPE)))
def test_mutated_recipes_get_no_traceback(data):
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recipe.yaml"
        path.write_text(text, encoding="utf-8")
        check_command(["validate", str(path)], text)
        check_command(["space", str(path), "--json"], text)


@FUZZ
@given(mutated(valid_genotype()))
def test_mutated_genotypes_get_no_traceback(data):
    text = json.dumps(data, indent=1, ensure_ascii=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "genotype.json"
        path.write_text(text, encoding="utf-8")
        check_command(["info", str(path), "--json"], text)
        check_command(["render", str(path), "-o", str(Path(tmp) / "cells.gv")], text)
