"""A study's tables and its significance statement: results.csv, summary.csv, summary.json.

The comparison (of the test error, or of an nb201 study's looked-up CIFAR-10 accuracy) is
Welch's t-test (unequal variances; the p-value from scipy when it is installed) beside a
percentile bootstrap interval of the difference of means (resampling each variant's seeds,
seeded, pure Python): with three seeds per variant neither is strong evidence, and the statement
says so.
"""

from __future__ import annotations

import csv
import io
import math
import random
import statistics
from dataclasses import dataclass

RESULT_FIELDS = [
    "variant",
    "seed",
    "search_seconds",
    "genotype",
    "params",
    "macs",
    "train_seconds",
    "test_acc",
    "test_error",
]
SUMMARY_FIELDS = [
    "variant",
    "n",
    "test_error_mean",
    "test_error_std",
    "test_acc_mean",
    "params",
    "macs",
    "search_seconds",
    "train_seconds",
]


def csv_text(rows: list[dict], fields: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: r.get(k) for k in fields} for r in rows)
    return buffer.getvalue()


def sample_std(values: list[float]) -> float | None:
    """The sample standard deviation; None for one value (undefined: summary.csv leaves it
    empty, summary.json has null)."""
    return statistics.stdev(values) if len(values) > 1 else None


def summarize(rows: list[dict], order: list[str]) -> list[dict]:
    """Per variant (in ``order``): mean ± sample std of the test error, n, mean sizes and times."""
    out = []
    for variant in order:
        mine = [r for r in rows if r["variant"] == variant]
        if not mine:
            continue
        errors = [r["test_error"] for r in mine]
        mean = {
            k: statistics.fmean(r[k] for r in mine)
            for k in ("test_acc", "params", "macs", "search_seconds", "train_seconds")
        }
        out.append(
            {
                "variant": variant,
                "n": len(mine),
                "test_error_mean": statistics.fmean(errors),
                "test_error_std": sample_std(errors),
                "test_acc_mean": mean["test_acc"],
                "params": round(mean["params"]),
                "macs": round(mean["macs"]),
                "search_seconds": round(mean["search_seconds"], 1),
                "train_seconds": round(mean["train_seconds"], 1),
            }
        )
    return out


def welch(a: list[float], b: list[float]) -> tuple[float, float]:
    """Welch's t statistic of mean(a) - mean(b) and its Welch-Satterthwaite degrees of freedom
    (``a`` and ``b``: at least 2 values each, not all equal in both)."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    t = (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return t, df


def welch_p(t: float, df: float) -> float | None:
    """Two-sided p-value of Welch's t (scipy's t distribution); None without scipy."""
    try:
        from scipy import stats
    except ImportError:
        return None
    return float(2 * stats.t.sf(abs(t), df))


def bootstrap_interval(
    a: list[float], b: list[float], *, level: float = 0.95, draws: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(a) - mean(b), each sample resampled on its own."""
    rng = random.Random(seed)
    diffs = sorted(
        statistics.fmean(rng.choices(a, k=len(a))) - statistics.fmean(rng.choices(b, k=len(b)))
        for _ in range(draws)
    )
    lo = diffs[int((1 - level) / 2 * draws)]
    hi = diffs[min(draws - 1, int((1 + level) / 2 * draws))]
    return lo, hi


@dataclass(frozen=True)
class Metric:
    """A compared quantity: its row key, its name, the factor that makes it %, its direction."""

    key: str
    label: str
    to_percent: float
    noun: str


METRICS = {
    "test_error": Metric("test_error", "test error", 100.0, "error"),
    "nb201_cifar10": Metric("nb201_cifar10", "NB201 CIFAR-10 test accuracy", 1.0, "accuracy"),
}


def compare(rows: list[dict], a: str, b: str, metric: str = "test_error") -> dict:
    """Is ``a``'s ``metric`` (test error, or an nb201 study's CIFAR-10 accuracy) different from
    ``b``'s? Welch's test, the bootstrap, and a sentence saying which is lower."""
    m = METRICS[metric]
    ea = [r[m.key] for r in rows if r["variant"] == a]
    eb = [r[m.key] for r in rows if r["variant"] == b]
    result = {"a": a, "b": b, "metric": m.key, "n_a": len(ea), "n_b": len(eb)}
    if len(ea) < 2 or len(eb) < 2:
        result["statement"] = f"{a} vs {b}: fewer than 2 seeds each; no test"
        return result
    diff = statistics.fmean(ea) - statistics.fmean(eb)
    if statistics.variance(ea) + statistics.variance(eb) == 0:
        result |= {"difference": diff}
        result["statement"] = f"{a} vs {b}: every seed gave the same {m.noun}; no test"
        return result
    t, df = welch(ea, eb)
    p = welch_p(t, df)
    lo, hi = bootstrap_interval(ea, eb)
    result |= {
        "difference": diff,
        "welch_t": t,
        "welch_df": df,
        "welch_p": p,
        "bootstrap_95": [lo, hi],
    }
    sure = p is not None and p < 0.05 or p is None and (hi < 0 or lo > 0)
    direction = "lower" if diff < 0 else "higher"
    p_text = f"p = {p:.3g}" if p is not None else "p not computed (no scipy)"
    k = m.to_percent
    result["statement"] = (
        f"{a} vs {b}: {m.label} {k * statistics.fmean(ea):.2f} ± {k * sample_std(ea):.2f} % vs "
        f"{k * statistics.fmean(eb):.2f} ± {k * sample_std(eb):.2f} % (n = {len(ea)}, {len(eb)}); "
        f"{a} is {abs(k * diff):.2f} points {direction}; Welch t = {t:.2f}, df = {df:.1f}, "
        f"{p_text}; 95 % bootstrap interval of the difference [{k * lo:.2f}, {k * hi:.2f}] "
        f"points: {'significant' if sure else 'not significant'} at the 5 % level"
    )
    return result
