"""DARTS strings and files are bounded before anything is built (issue 26): a range of 10^13
nodes, a 60,000-node concat, absurd nesting or a log of unclosed calls cost milliseconds and say
which limit they passed."""

from __future__ import annotations

import json

import pytest

from factorspace.errors import MESSAGE_LIMIT, FactorspaceError
from factorspace.genotype import from_darts_string, get_genotype, load_genotype, read_darts_file
from factorspace.genotype.darts import MAX_CHARS, MAX_CONCAT, MAX_PAIRS

DARTS = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat={concat}, "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])"
)


@pytest.mark.parametrize(
    ("concat", "says"),
    [
        (
            "range(2, 10000000000000)",
            f"normal_concat: 9,999,999,999,998 nodes, more than {MAX_CONCAT}",
        ),
        ("range(2, 100000000)", f"normal_concat: 99,999,998 nodes, more than {MAX_CONCAT}"),
        ("range(100000000)", f"normal_concat: 100,000,000 nodes, more than {MAX_CONCAT}"),
        (str(list(range(2, 40))), f"normal_concat: 38 nodes, more than {MAX_CONCAT}"),
    ],
)
def test_a_concat_beyond_the_nodes_is_refused_before_it_is_built(concat, says):
    with pytest.raises(FactorspaceError) as e:
        from_darts_string(DARTS.format(concat=concat))
    assert str(e.value) == says


def test_a_range_within_the_limit_reads():
    assert from_darts_string(DARTS.format(concat="range(2, 3)")).normal.concat == [2]


def test_a_string_longer_than_the_limit_is_refused_by_its_length():
    text = DARTS.format(concat=str(list(range(2, 60_002))))
    with pytest.raises(FactorspaceError) as e:
        from_darts_string(text)
    assert str(e.value) == (
        f"not a DARTS genotype string: {len(text):,} characters, more than {MAX_CHARS:,}"
    )


def test_nesting_and_pairs_are_bounded():
    with pytest.raises(FactorspaceError, match="brackets nested more than 8 deep"):
        from_darts_string(DARTS.format(concat="[" * 50 + "2" + "]" * 50))
    pairs = ", ".join(f"('skip_connect', {k // 2})" for k in range(MAX_PAIRS + 2))
    with pytest.raises(FactorspaceError, match=f"normal: {MAX_PAIRS + 2} pairs, more than"):
        from_darts_string(DARTS.replace("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)]", f"[{pairs}]"))


def test_long_values_in_messages_are_clipped():
    op = "x" * 10_000
    with pytest.raises(FactorspaceError) as e:
        from_darts_string(DARTS.format(concat="[2]").replace("sep_conv_3x3", op, 1))
    assert len(str(e.value)) < 200 and "…" in str(e.value)
    assert len(str(FactorspaceError("y" * 10**6))) == MESSAGE_LIMIT


def test_a_genotype_file_s_long_concat_is_one_short_message(tmp_path):
    data = get_genotype("darts_v2").model_dump(mode="json", exclude_none=True)
    data["normal"]["concat"] = list(range(2, 60_002))
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data))
    with pytest.raises(FactorspaceError) as e:
        load_genotype(path)
    assert str(e.value).startswith(f"{path}:1: normal.concat: [2, 3, 4, ")
    assert len(str(e.value)) < 300


def test_a_log_of_unclosed_calls_is_scanned_within_bounds(tmp_path):
    path = tmp_path / "search.txt"
    path.write_text("genotype = Genotype(\n" * 40_000)  # 880 KB, no call closed: not Python
    with pytest.raises(FactorspaceError, match="no DARTS `Genotype"):
        read_darts_file(path)
