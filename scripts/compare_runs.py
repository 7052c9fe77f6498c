"""Whether two search runs are the same run: genotype, architecture records and metrics.

    python scripts/compare_runs.py RUN_A RUN_B

Compares the final genotype (less its ``source``), every epoch's architecture logits and
weights (``arch/epoch_NNN.json``) and metrics row (less ``images_per_s``, a timing) exactly, as
JSON values. Prints each comparison and exits 0 when all are equal, 1 otherwise: the check that
a change left a search bit-identical.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from factorspace.run.rundir import RunDir


def same_run(a: Path, b: Path) -> bool:
    ra, rb = RunDir(a), RunDir(b)
    ga, gb = (json.loads(r.genotype.read_text()) for r in (ra, rb))
    ga.pop("source", None), gb.pop("source", None)
    same = ga == gb
    print(f"genotype: {'equal' if ga == gb else 'DIFFERENT'}")
    names = sorted({p.name for p in ra.arch_records()} | {p.name for p in rb.arch_records()})
    for name in names:
        xa, xb = (json.loads((r.arch_dir / name).read_text()) for r in (ra, rb))
        equal = all(xa.get(k) == xb.get(k) for k in ("alphas", "weights", "edge_weights"))
        same &= equal
        print(f"arch/{name}: {'equal' if equal else 'DIFFERENT'}")
    rows = [
        [json.loads(line) for line in r.metrics_jsonl.read_text().splitlines()] for r in (ra, rb)
    ]
    same &= len(rows[0]) == len(rows[1])
    for x, y in zip(*rows, strict=False):
        diff = sorted(k for k in {*x, *y} - {"images_per_s"} if x.get(k) != y.get(k))
        same &= not diff
        print(f"metrics epoch {x.get('epoch')}: {'equal' if not diff else f'DIFFERENT in {diff}'}")
    return same


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    identical = same_run(Path(sys.argv[1]), Path(sys.argv[2]))
    print("identical" if identical else "different")
    sys.exit(0 if identical else 1)
