"""Hostile or broken files get one located message, quickly, before anything expands them.

Each case is built so that a regression shows: the alias bomb would expand to 10**10 values and
the recursive alias would recurse forever, had the loader followed them.
"""

import os
import textwrap

import pytest
import yaml
from typer.testing import CliRunner

import factorspace as fs
from factorspace.cli import app
from factorspace.errors import shown
from factorspace.loader import (
    MAX_BYTES,
    MAX_VALUES,
    apply_override,
    line_of,
    parse_yaml,
    read_text,
)
from factorspace.study.load import load_study
from tests.conftest import ROOT

TOO_MANY = (
    f"the document holds more than {MAX_VALUES:,} values (each use of a YAML alias counts "
    "its anchor's values again); a recipe holds a few hundred"
)
NOT_UTF8 = "save it as UTF-8"


def write(tmp_path, content, name="r.yaml"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return path


def refusal(path) -> str:
    with pytest.raises(fs.FactorspaceError) as info:
        fs.load_recipe(path)
    return str(info.value)


def alias_bomb(levels=10, width=10) -> str:
    """ "Billion laughs": level i is ``width`` aliases of level i - 1 (width**levels values)."""
    rows = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(rows) + "\n"


def test_alias_bomb_is_refused_at_the_alias_that_passes_the_limit(tmp_path):
    path = write(tmp_path, alias_bomb())
    # values so far: a0..a3 hold 11 + 111 + 1,111 + 11,111; a4 adds 1 + 11,111 per alias, so
    # its 8th alias (a4[7], line 5) passes 100,000
    assert refusal(path) == f"{path}:5: a4[7]: {TOO_MANY}"


def test_alias_bomb_through_the_cli_is_one_error_line(tmp_path):
    path = write(tmp_path, alias_bomb())
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {path}:5: a4[7]: {TOO_MANY}"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: &self [*self]\n", "1: name[0]"),
        ("space: &s\n  cell: *s\n", "2: space.cell"),
        ("a: &x\n  b:\n    - 1\n    - *x\n", "4: a.b[1]"),
    ],
    ids=["list", "mapping", "nested"],
)
def test_recursive_alias_is_refused_at_the_alias(tmp_path, text, where):
    path = write(tmp_path, text)
    expected = (
        f"{path}:{where}: a YAML alias that contains itself (a recursive alias) cannot be read"
    )
    assert refusal(path) == expected


def test_many_plain_values_are_refused_while_parsing(tmp_path):
    path = write(tmp_path, "x: [" + ", ".join(["1"] * (MAX_VALUES + 10)) + "]\n")
    assert refusal(path) == f"{path}:1: {TOO_MANY}"


def test_file_over_the_size_limit_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, b"name: " + b"x" * (2 * 1024 * 1024) + b"\n")
    size = path.stat().st_size
    assert refusal(path) == (
        f"{path}: the file is {size:,} bytes, over the limit of {MAX_BYTES:,} bytes "
        "(a recipe or genotype is a few kilobytes)"
    )


def test_a_file_at_the_size_limit_is_read(tmp_path):
    path = write(tmp_path, b"# " + b"x" * (MAX_BYTES - 3) + b"\n")
    assert path.stat().st_size == MAX_BYTES
    assert read_text(path).startswith("# x")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name: tiny\n".encode("utf-16"), "1: the file is UTF-16 or UTF-32 text; " + NOT_UTF8),
        (
            "name: tiny\n".encode("utf-16-le"),
            "1: the file contains a NUL byte: it is binary, or UTF-16 text; " + NOT_UTF8,
        ),
        (
            b"name: tiny\n\n\x00\n",
            "3: the file contains a NUL byte: it is binary, or UTF-16 text; " + NOT_UTF8,
        ),
        (
            "name: tiny\nx: café\n".encode("latin-1"),
            "2: not UTF-8 text: byte 0xe9 cannot be read (a Latin-1 or Windows-1252 file?); "
            + NOT_UTF8,
        ),
        (
            b"name: tiny\nx: a\x07b\n",
            "2: YAML syntax error: the control character #x0007 is not allowed in YAML text",
        ),
    ],
    ids=["utf16-bom", "utf16-no-bom", "nul", "latin1", "control-character"],
)
def test_text_that_is_not_utf8_yaml_is_located(tmp_path, content, expected):
    path = write(tmp_path, content)
    assert refusal(path) == f"{path}:{expected}"


def test_utf8_with_a_byte_order_mark_is_read(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfname: tiny\n")
    data, lines = parse_yaml(read_text(path), path)
    assert data == {"name": "tiny"} and lines[("name",)] == 1


def test_a_directory_is_refused(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.mkdir()
    assert refusal(path) == f"{path}: is a directory, not a file"


def test_a_symlink_loop_is_refused(tmp_path):
    path = tmp_path / "recipe.yaml"
    os.symlink(path, path)
    assert refusal(path) == f"{path}: cannot read: a symlink loop"


@pytest.mark.parametrize(
    ("depth", "field"),
    [(150, "a: "), (5000, "")],  # 5,000 levels stop the parser itself: no field to name
)
def test_deep_nesting_is_refused(tmp_path, depth, field):
    path = write(tmp_path, "a: " + "[" * depth + "]" * depth + "\n")
    assert refusal(path) == f"{path}:1: {field}nested more than 100 levels deep"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: tiny\nseed: " + "9" * 5000 + "\n",
            f"2: cannot read the value {shown('9' * 5000)}: Exceeds the limit (4300 digits) "
            "for integer string conversion: value has 5000 digits",
        ),
        (
            "name: tiny\nwhen: 2020-13-45\n",
            "2: cannot read the value '2020-13-45': month must be in 1..12",
        ),
        ("? [a, b]\n: 1\n", "1: a key must be a plain name, not a list or a mapping"),
    ],
    ids=["5000-digit-integer", "month-13", "list-as-key"],
)
def test_values_yaml_cannot_build_are_located(tmp_path, text, expected):
    path = write(tmp_path, text)
    assert refusal(path) == f"{path}:{expected}"


def test_echoed_values_are_shortened(tmp_path):
    path = write(tmp_path, "name: tiny\nspace: " + "y" * 5000 + "\n")
    # the start and the last quarter of the echo: 'yyy…yyy' (80 characters with its quotes)
    expected = "expected a mapping (`key: value` lines) (got '" + "y" * 58 + "…" + "y" * 19 + "')"
    assert refusal(path) == f"{path}:2: space: {expected}"


def test_echoed_set_items_are_shortened(tmp_path):
    with pytest.raises(fs.FactorspaceError) as info:
        apply_override({}, "k" * 500, tmp_path / "r.yaml")
    assert (
        str(info.value)
        == f"{tmp_path / 'r.yaml'}: --set '{'k' * 58}…{'k' * 19}': expected dotted.key=value"
    )


def test_shown_never_fails_on_a_huge_integer():
    assert shown(10**5000) == "<an integer of about 5,000 digits>"
    assert shown("short") == "'short'"


ANCHORED = """\
name: tiny
space:
  factors:
    - name: op
      role: operator
      choices: [none, max_pool_3x3, skip_connect, sep_conv_3x3]
    - name: activation
      role: input
      choices: [relu, selu]
      applies_to: &parameterized
        factor: op
        tags: [parameterized]
    - name: act2
      role: input
      choices: [relu, elu]
      applies_to: *parameterized
  cell: {nodes: 2, keep: 2}
supernet: {channels: 4, cells: 2}
"""


def test_a_recipe_with_an_anchor_loads_with_its_lines(tmp_path):
    path = write(tmp_path, ANCHORED)
    recipe = fs.load_recipe(path)
    assert recipe.space.factors[2].applies_to == recipe.space.factors[1].applies_to
    _, lines = parse_yaml(read_text(path), path)
    alias = ("space", "factors", 2, "applies_to")
    assert line_of(alias, lines) == 16  # the alias itself
    assert line_of((*alias, "tags"), lines) == 12  # inside it: where the anchor wrote it
    assert line_of((*alias, "tags", 0), lines) == 12


def test_each_use_of_an_alias_is_its_own_copy(tmp_path):
    path = write(tmp_path, "a: &x [1, 2]\nb: *x\n")
    data, _ = parse_yaml(read_text(path), path)
    apply_override(data, "b.0=7", path)
    assert data == {"a": [1, 2], "b": [7, 2]}


def test_study_anchors_still_load():
    study = load_study(ROOT / "recipes" / "studies" / "table2_small.yaml")
    factorized, relu = study.variants["factorized"], study.variants["relu"]
    assert relu.search.set == factorized.search.set
    assert "supernet.channels=8" in relu.search.set


def test_a_syntax_error_message_is_shortened(tmp_path):
    path = write(tmp_path, "a: *" + "n" * 500 + "\n")
    message = refusal(path)
    assert message.startswith(f"{path}:1: YAML syntax error: found undefined alias")
    assert len(message) < len(str(path)) + 250


def test_yaml_loads_the_same_data_as_pyyaml_for_shipped_recipes():
    for path in sorted((ROOT / "recipes").rglob("*.yaml")):
        data, _ = parse_yaml(read_text(path), path)
        assert data == yaml.safe_load(path.read_text(encoding="utf-8")), path


def test_long_keys_are_shortened_in_the_field(tmp_path):
    path = write(tmp_path, "name: tiny\n" + "q" * 300 + ": 1\n")
    assert refusal(path).startswith(f"{path}:2: {'q' * 59}…{'q' * 20}: ")


def test_set_with_a_part_too_long_for_an_index_is_a_key(tmp_path):
    data = {"a": {}}
    assert apply_override(data, "a." + "9" * 5000 + "=1", tmp_path / "r.yaml") == ("a", "9" * 5000)
    assert data == {"a": {"9" * 5000: 1}}


# Found by the independent red-team corpus (issue 19, /work/redteam19 outside the repository).
@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (
            "space:\n  factors:\n    - choices: !!set {relu, swish}\n",
            3,
            "space.factors[0].choices",
            "a YAML set (!!set) has no order, which the choices need; write a list: [a, b]",
        ),
        (
            "name: !!binary aGVsbG8=\nspace: {}\n",
            1,
            "name",
            "a binary value (!!binary) is not text; write the value itself",
        ),
    ],
)
def test_unordered_or_binary_yaml_values_are_refused(tmp_path, text, line, field, message):
    with pytest.raises(fs.RecipeError) as info:
        fs.load_recipe(write(tmp_path, text))
    assert (info.value.line, info.value.field, info.value.message) == (line, field, message)


@pytest.mark.parametrize(
    ("module", "says"),
    [
        ("import sys\nsys.exit(3)\n", "SystemExit: it called sys.exit(3)"),
        ("raise SystemExit('bye')\n", "SystemExit: it called sys.exit('bye')"),
    ],
)
def test_an_imported_module_that_exits_is_one_located_message(tmp_path, monkeypatch, module, says):
    (tmp_path / "exits_19.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "exits_19", raising=False)
    path = write(tmp_path, "imports: [exits_19]\nspace: {}\n")
    with pytest.raises(fs.RecipeError) as info:
        fs.load_recipe(path)
    assert (info.value.line, info.value.field) == (1, "imports[0]")
    assert info.value.message == f"cannot import module 'exits_19': {says}"
