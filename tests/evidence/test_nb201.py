"""NAS-Bench-201's table as shipped: verified on load, looked up by cell string, and the figures
its source publishes (/work/shared/benchmarks/nasbench201/README.md's checks)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from importlib import resources

import pytest
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.errors import FactorspaceError
from factorspace.evidence import nb201

BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_SKIP = nb201.format_cell(["skip_connect"] * 6)


@pytest.fixture(scope="module")
def table() -> nb201.NB201Table:
    return nb201.load_table()


def test_the_table_holds_every_cell_once_and_each_operation_equally(table):
    assert len(table) == nb201.CELLS == 15_625
    assert len({r.arch for r in table.records}) == 15_625
    assert sorted(r.index for r in table.records) == list(range(15_625))
    uses = Counter(op for r in table.records for op in nb201.parse_cell(r.arch))
    assert uses == dict.fromkeys(nb201.OPERATIONS, 18_750)


def test_every_cell_string_round_trips(table):
    for record in table.records:
        assert nb201.format_cell(nb201.parse_cell(record.arch)) == record.arch
        assert table.lookup(nb201.parse_cell(record.arch)) is record


def test_the_published_best_cells_and_the_collapsed_cell(table):
    best = table.lookup(BEST_CIFAR10)
    assert best.cifar10 == pytest.approx(94.3733)
    assert table.rank(BEST_CIFAR10, "cifar10") == 1
    assert table.best("cifar10") == best
    assert table.best("cifar100").cifar100 == pytest.approx(73.5133)
    assert table.best("imagenet16_120").imagenet16_120 == pytest.approx(47.3111)
    assert table.lookup(ALL_SKIP).cifar10 == pytest.approx(54.2967)


def test_the_random_cell_figures_the_source_publishes(table):
    c10 = table.random_cells("cifar10")
    assert round(c10.mean, 2) == 87.06
    assert round(c10.percentiles[50], 2) == 90.75
    assert round(c10.percentiles[90], 2) == 92.93
    assert round(c10.percentiles[99], 2) == 93.77  # the README rounds 93.7746 up to 93.78
    assert round(table.random_cells("cifar100").mean, 2) == 61.41
    assert round(table.random_cells("imagenet16_120").percentiles[50], 2) == 36.39


def test_best_of_k_random_cells_is_the_expected_maximum():
    ops = [nb201.format_cell([op] * 6) for op in nb201.OPERATIONS[:3]]
    small = nb201.NB201Table(
        [nb201.NB201Record(i, arch, float(i + 1), 0.0, 0.0) for i, arch in enumerate(ops)]
    )
    assert small.best_of_random(1) == pytest.approx(2.0)  # the mean of 1, 2, 3
    # max of two draws from {1, 2, 3}: 1 w.p. 1/9, 2 w.p. 3/9, 3 w.p. 5/9
    assert small.best_of_random(2) == pytest.approx((1 + 6 + 15) / 9)
    with pytest.raises(FactorspaceError, match="at least 1"):
        small.best_of_random(0)


def test_rank_shares_ties_and_counts_strictly_better_cells():
    ops = [nb201.format_cell([op] * 6) for op in nb201.OPERATIONS[:3]]
    small = nb201.NB201Table(
        [
            nb201.NB201Record(i, a, acc, 0.0, 0.0)
            for i, (a, acc) in enumerate(zip(ops, (5, 5, 1), strict=True))
        ]
    )
    assert [small.rank(a) for a in ops] == [1, 1, 3]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("abc", "1 node(s) separated by '+', expected 3"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~3|", "'none~3' is not 'operation~2'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 has 1 edge(s), expected 2"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv'"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 ('none~0|') is not enclosed"),
        ("|" * 300, "at most 200"),
    ],
)
def test_a_malformed_cell_string_says_what_is_wrong(text, why):
    with pytest.raises(FactorspaceError) as raised:
        nb201.parse_cell(text)
    assert why in str(raised.value)


def test_a_damaged_table_is_refused():
    data = gzip.decompress(
        (resources.files("factorspace") / "datasets" / nb201.TABLE_FILE).read_bytes()
    )
    nb201.table_from_csv(data)  # the shipped bytes pass
    with pytest.raises(FactorspaceError, match="sha256 .* is not the published"):
        nb201.table_from_csv(data.replace(b"94.3733", b"99.3733"))


def test_the_command_prints_the_accuracies_rank_and_best_cells():
    result = CliRunner().invoke(app, ["nb201", BEST_CIFAR10])
    assert result.exit_code == 0, result.output
    for figure in ("94.37 %", "73.51 %", "47.31 %", "1 of 15,625", "index 6111"):
        assert figure in result.output
    as_json = json.loads(CliRunner().invoke(app, ["nb201", ALL_SKIP, "--json"]).output)
    assert as_json["datasets"]["cifar10"]["test_accuracy"] == pytest.approx(54.2967)
    assert as_json["datasets"]["cifar10"]["best"]["arch"] == BEST_CIFAR10
