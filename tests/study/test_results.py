"""The summary of a study and its significance statement."""

import math

import pytest

from factorspace.study.results import bootstrap_interval, compare, summarize, welch, welch_p


def rows(variant, errors):
    return [
        {"variant": variant, "seed": i, "test_error": e, "test_acc": 1 - e, "params": 100 + i,
         "macs": 1000, "search_seconds": 10.0, "train_seconds": 20.0 + i}
        for i, e in enumerate(errors)
    ]  # fmt: skip


def test_welch_t_and_degrees_of_freedom_by_hand():
    # means 2 and 4; variances 1 and 4 over n = 3: t = -2 / sqrt(1/3 + 4/3), df = 50/17
    t, df = welch([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    assert t == pytest.approx(-2 / math.sqrt(5 / 3))
    assert df == pytest.approx(50 / 17)


def test_welch_p_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    a, b = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
    expected = stats.ttest_ind(a, b, equal_var=False).pvalue
    assert welch_p(*welch(a, b)) == pytest.approx(expected)


def test_bootstrap_interval_holds_the_difference_and_is_seeded():
    a, b = [0.10, 0.11, 0.12], [0.20, 0.22, 0.21]
    lo, hi = bootstrap_interval(a, b)
    assert lo <= -0.1 <= hi < 0 and (lo, hi) == bootstrap_interval(a, b)


def test_summary_is_mean_and_sample_std_per_variant_in_order():
    summary = summarize(rows("b", [0.2, 0.4]) + rows("a", [0.1, 0.1, 0.4]), ["a", "b"])
    assert [s["variant"] for s in summary] == ["a", "b"]
    assert summary[0]["n"] == 3 and summary[0]["test_error_mean"] == pytest.approx(0.2)
    assert summary[0]["test_error_std"] == pytest.approx(math.sqrt(0.03))
    assert summary[1]["train_seconds"] == 20.5 and summary[1]["params"] == 100  # round(100.5)


def test_the_statement_says_which_is_lower_and_how_sure():
    clear = compare(rows("a", [0.10, 0.11, 0.12]) + rows("b", [0.30, 0.31, 0.32]), "a", "b")
    assert clear["difference"] == pytest.approx(-0.2)
    assert "a is 20.00 points lower" in clear["statement"]
    assert clear["statement"].endswith("significant at the 5 % level")
    assert "not significant" not in clear["statement"]
    noisy = compare(rows("a", [0.1, 0.5, 0.3]) + rows("b", [0.2, 0.4, 0.35]), "a", "b")
    assert noisy["statement"].endswith("not significant at the 5 % level")
    same = compare(rows("a", [0.1, 0.1]) + rows("b", [0.2, 0.2]), "a", "b")
    assert same["statement"] == "a vs b: every seed gave the same error; no test"
    one = compare(rows("a", [0.1]) + rows("b", [0.2, 0.3]), "a", "b")
    assert one["statement"] == "a vs b: fewer than 2 seeds each; no test"


def test_one_seed_has_no_standard_deviation_in_the_csv_or_the_console():
    from factorspace.retrain.multiseed import mean_std
    from factorspace.study.results import SUMMARY_FIELDS, csv_text

    summary = summarize(rows("a", [0.25]) + rows("b", [0.2, 0.4]), ["a", "b"])
    assert summary[0]["test_error_std"] is None  # undefined for n = 1: null in summary.json
    first = csv_text(summary, SUMMARY_FIELDS).splitlines()[1].split(",")
    cells = dict(zip(SUMMARY_FIELDS, first, strict=True))
    assert cells["n"] == "1" and cells["test_error_std"] == ""
    assert mean_std(0.25, summary[0]["test_error_std"]) == "25.00 %"
    assert mean_std(0.3, summary[1]["test_error_std"]) == "30.00 ± 14.14 %"
