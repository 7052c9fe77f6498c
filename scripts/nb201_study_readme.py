"""Write an NB201 study's results page: docs/results/NAME/ with its tables, figures and README.md.

Run after ``factorspace study STUDY --out RESULTS`` has finished (or as far as it got):

    python scripts/nb201_study_readme.py recipes/studies/nb201_small.yaml results/nb201_small \
        --out docs/results/nb201_small [--dates "2026-12-07 09:00-12:10 UTC"] [--note TEXT]

It copies results.csv, summary.csv, summary.json, summary.png and curves.png, and writes
README.md: the command, the dates, the hardware, the table (mean ± std over seeds on the three
data sets, search time, parameter-free edges, the random-search baseline), the benchmark's own
baselines and the published results, and the protocol's three readings computed by its rules
(the study file's header): does each variant beat a random cell (and random search of the same
cost), does the factorized space beat the joint one (Welch's t-test on CIFAR-10 accuracy, per
method), does DARTS collapse as published. It interprets nothing else: add the discussion by hand
under "Reading" if there is more to say.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import shutil
import subprocess
from pathlib import Path

from factorspace.evidence import nb201
from factorspace.evidence.nb201_published import PUBLISHED
from factorspace.study import load_study
from factorspace.study.lookup import search_curves
from factorspace.study.results import compare

COPIED = ("results.csv", "summary.csv", "summary.json", "summary.png", "curves.png")
COLLAPSE_EDGES = 4  # the protocol: >= 4 of 6 edges parameter-free ...
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


def read_rows(path: Path) -> list[dict]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    numbers = ("seed", "nb201_cifar10_rank", "parameter_free_edges")
    for r in rows:
        for k, v in r.items():
            if k in numbers:
                r[k] = int(v)
            elif k.startswith("nb201_") and k != "nb201_arch" or k.endswith("seconds"):
                r[k] = float(v) if v else None
    return rows


def pm(mean: float, std: float | None) -> str:
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def hardware() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            (ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if "Model name" in ln), "?"
        )
    except (OSError, subprocess.CalledProcessError):
        model = platform.processor() or "?"
    import os

    return f"{model}, {os.cpu_count()} cores visible, {platform.platform()}"


def dates(results: Path) -> str:
    stamps = sorted(p.stat().st_mtime for p in results.glob("*/seed_*/result.json"))
    starts = sorted(p.stat().st_mtime for p in results.glob("*/seed_*/search/recipe.yaml"))
    if not stamps:
        return "no finished cell"
    fmt = "%Y-%m-%d %H:%M"
    first = datetime.datetime.fromtimestamp(min(starts or stamps), datetime.UTC).strftime(fmt)
    last = datetime.datetime.fromtimestamp(stamps[-1], datetime.UTC).strftime(fmt)
    return f"{first} to {last} UTC (first search started, last cell finished; file times)"


def collapsed(row: dict, random_mean: float) -> bool:
    """The protocol's rule for one seed's final cell."""
    return row["parameter_free_edges"] >= COLLAPSE_EDGES or row["nb201_cifar10"] < random_mean


def table_lines(summary: dict) -> list[str]:
    lines = [
        "| variant | n | CIFAR-10 | CIFAR-100 | ImageNet16-120 | search (s, wall) | search (s, CPU) "
        "| parameter-free edges | K | best of K random (CIFAR-10) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary["variants"]:
        acc = [pm(s[f"nb201_{d}_mean"], s[f"nb201_{d}_std"]) for d in nb201.DATASETS]
        cpu = "" if s["search_cpu_seconds"] is None else f"{s['search_cpu_seconds']:.0f}"
        k = "" if s["random_k"] is None else str(s["random_k"])
        best_k = "" if s["best_of_k_cifar10"] is None else f"{s['best_of_k_cifar10']:.2f}"
        lines.append(
            f"| {s['variant']} | {s['n']} | {' | '.join(acc)} | {s['search_seconds']:.0f} | "
            f"{cpu} | {s['parameter_free_edges']:.1f} | {k} | {best_k} |"
        )
    baseline = summary["random_cells"]
    cells = []
    for d in nb201.DATASETS:
        b = baseline[f"nb201_{d}"]
        q = b["percentiles"]
        cells.append(f"{b['mean']:.2f} (median {q['50']:.2f}, 10-90th {q['10']:.2f}-{q['90']:.2f})")
    best = [f"{baseline[f'nb201_{d}']['best']:.2f}" for d in nb201.DATASETS]
    lines.append(row(["a random cell (the table)", "15,625", *cells]))
    lines.append(row(["the best cell (the table)", "", *best]))
    for p in PUBLISHED:
        lines.append(row([f"{p.method}, published (GPU, full scale)", "", f"{p.cifar10:.2f}"]))
    return lines


def row(cells: list[str], width: int = 10) -> str:
    """A table row of ``width`` cells, the missing ones empty."""
    return "| " + " | ".join(cells + [""] * (width - len(cells))) + " |"


def compared_pairs(variants: list[str], protocol_pair) -> list[tuple[str, str]]:
    """The protocol's pair first, then every ``METHOD_factorized`` beside its ``METHOD_joint``."""
    pairs = [tuple(protocol_pair)] if protocol_pair else []
    for variant in variants:
        pair = (variant, variant.removesuffix("_factorized") + "_joint")
        if variant.endswith("_factorized") and pair[1] in variants and pair not in pairs:
            pairs.append(pair)
    return pairs


def readings(study, summary: dict, rows: list[dict]) -> list[str]:
    """The protocol's three questions, answered by its rules."""
    random_mean = summary["random_cells"]["nb201_cifar10"]["mean"]
    out = ["**Does each variant beat a random cell?** (mean CIFAR-10 accuracy above a random "
           f"cell's mean, {random_mean:.2f}; and above the expected best of K random cells, "
           "an oracle upper bound for random search of the same cost)", ""]  # fmt: skip
    for s in summary["variants"]:
        mean = s["nb201_cifar10_mean"]
        verdict = "beats a random cell" if mean > random_mean else "does not beat a random cell"
        if s["best_of_k_cifar10"] is not None:
            reach = "reaches" if mean >= s["best_of_k_cifar10"] else "stays below"
            verdict += f"; {reach} the best of K = {s['random_k']} ({s['best_of_k_cifar10']:.2f})"
        out.append(f"- {s['variant']}: {mean:.2f}: {verdict}")
    out += ["", "**Does the factorized space beat the joint one?** (CIFAR-10 accuracy, Welch's "
            "t-test and a 95 % bootstrap interval; the first pair is the protocol's test, the "
            "others, each METHOD_factorized against its METHOD_joint, secondary)", ""]  # fmt: skip
    pairs = compared_pairs(list(study.variants), study.compare)
    seeds = {v: sum(r["variant"] == v for r in rows) for v in study.variants}
    for a, b in pairs:
        if min(seeds[a], seeds[b]) == 0:  # a study still running: nothing to compare yet
            out.append(f"- {a} vs {b}: not compared yet ({seeds[a]} and {seeds[b]} seeds finished)")
            continue
        out.append(f"- {compare(rows, a, b, metric='nb201_cifar10')['statement']}")
    out += ["", "**Does DARTS collapse as published?** (a seed collapses when its final cell has "
            f">= {COLLAPSE_EDGES} parameter-free edges of 6 or a CIFAR-10 accuracy below "
            f"{random_mean:.2f}; a variant when two thirds of its seeds do, 2 of 3; published: the "
            "all-skip cell, 54.30)", ""]  # fmt: skip
    for s in summary["variants"]:
        mine = [r for r in rows if r["variant"] == s["variant"]]
        n_collapsed = sum(collapsed(r, random_mean) for r in mine)
        all_skip = sum(r["nb201_arch"] == ALL_SKIP for r in mine)
        verdict = "collapses" if 3 * n_collapsed >= 2 * len(mine) else "does not collapse"
        out.append(
            f"- {s['variant']}: {n_collapsed} of {len(mine)} seeds collapsed, {all_skip} ended "
            f"on the all-skip cell: {verdict}"
        )
    return out


def curve_lines(curves: dict, rows: list[dict]) -> list[str]:
    """Per cell: the best accuracy along the search and its epoch, the last epoch's cell, and the
    study's cell (described, not tested: the protocol takes the study's cell, which a selection
    rule such as DARTS-PT's may choose after the last epoch; a cell still running has none)."""
    found = {(r["variant"], int(r["seed"])): float(r["nb201_cifar10"]) for r in rows}
    lines = [
        "| variant | seed | best along the search (epoch) | last epoch's cell | the study's cell |",
        "|---|---|---|---|---|",
    ]
    for variant, seeds in curves.items():
        for seed, points in sorted(seeds.items()):
            epoch, best = max(points, key=lambda p: (p[1], -p[0]))
            cell = found.get((variant, seed))
            final = "still running" if cell is None else f"{cell:.2f}"
            lines.append(
                f"| {variant} | {seed} | {best:.2f} ({epoch}) | {points[-1][1]:.2f} | {final} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("results", type=Path, help="the study's --out directory")
    parser.add_argument("--out", type=Path, required=True, help="e.g. docs/results/nb201_small")
    parser.add_argument("--dates", help="when it ran (default: from the cells' file times)")
    parser.add_argument("--note", default="", help="a paragraph added under the command")
    parser.add_argument("--workers", type=int, default=1, help="the study's --workers, shown")
    args = parser.parse_args()
    study = load_study(args.study)
    summary = json.loads((args.results / "summary.json").read_text())
    rows = read_rows(args.results / "results.csv")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (args.results / name).is_file():
            shutil.copyfile(args.results / name, args.out / name)
    env = {}
    for record in sorted(args.results.glob("*/seed_*/search/run.json")):
        env = json.loads(record.read_text()).get("env", {})
        break
    seeds = ", ".join(map(str, study.seeds))
    text = [
        f"# {study.name}: NAS-Bench-201 at a CPU proxy, measured",
        "",
        f"`OMP_NUM_THREADS=1 factorspace study {args.study} --out {args.results} --device cpu"
        f"{f' --workers {args.workers}' if args.workers > 1 else ''}`, "
        f"then `python scripts/nb201_study_readme.py {args.study} {args.results} --out "
        f"{args.out}`.",
        "",
        f"- when: {args.dates or dates(args.results)}",
        f"- hardware: {hardware()}; torch {env.get('torch', '?')}, {env.get('cpu_threads', '?')} "
        f"thread(s) per search; factorspace {env.get('factorspace', '?')} at commit "
        f"{env.get('git_commit', '?')[:12]}",
        f"- protocol: the header of `{args.study}`, fixed before the run; seeds {seeds}; "
        f"{len(rows)} of {len(study.variants) * len(study.seeds)} cells finished",
        "- metric: the NB201 test accuracy (%) of each search's final cell, looked up in the "
        f"benchmark's table ({nb201.CITATION}); searched on CIFAR-10 (JPEG copy) only",
        "",
    ]
    if args.note:
        text += [args.note, ""]
    text += ["## Table", "", *table_lines(summary), ""]
    text += [
        "K: the random cells a search's CPU time would have trained at this proxy "
        f"(its CPU seconds / {summary.get('cell_train_seconds')} s, the study's "
        "cell_train_seconds); their best is picked by true test accuracy, an upper bound for "
        "random search. Published: each method's paper, full scale on a GPU (sources in "
        "`factorspace/evidence/nb201_published.py`).",
        "",
        "![accuracy of each variant's cells](summary.png)",
        "",
        "## Reading, by the protocol's rules",
        "",
        *readings(study, summary, rows),
        "",
        "## Along the search",
        "",
        "The CIFAR-10 accuracy of the cell each search derived after every epoch "
        "(`curves.png`); the protocol scores the final cell, these are described only.",
        "",
        "![accuracy along the search](curves.png)",
        "",
        *curve_lines(search_curves(study, args.results), rows),
        "",
    ]
    (args.out / "README.md").write_text("\n".join(text))
    print(f"wrote {args.out / 'README.md'} and {', '.join(COPIED)}")


if __name__ == "__main__":
    main()
