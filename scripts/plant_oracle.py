"""Do a planted benchmark's labels single out the planted architecture? (docs/evidence.md)

Trains, from scratch and as fixed networks, the planted genotype of a ``factorspace plant`` seed
and ``OTHERS`` genotypes drawn from the same space, each on the first half of the seed's labelled
images, and measures accuracy on the second half (the split the search uses for the
architecture). If the planted genotype does not fit the held-out labels clearly better than the
drawn ones, no search can be expected to recover it at that size.

    OMP_NUM_THREADS=1 python scripts/plant_oracle.py RECIPE SEED_DIR OTHERS EPOCHS

Writes ``SEED_DIR/oracle.json``: a row per genotype (accuracy, loss, seconds).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import factorspace as fs
from factorspace.evidence.draw import draw_genotype
from factorspace.evidence.teacher import student_view
from factorspace.genotype import load_genotype
from factorspace.retrain import build_network
from factorspace.schema.train import NetworkConfig
from factorspace.space import Space

BATCH = 32
DRAW_SEED = 1000  # drawn genotypes: seeds 1000, 1001, ...


def logits_of(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = net(x)
    return out[0] if isinstance(out, tuple) else out


def held_out_fit(net, x, y, epochs: int) -> dict:
    """Accuracy and loss on the second half after training on the first (SGD, cosine)."""
    n = len(y) // 2
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(n).split(BATCH):
            loss = F.cross_entropy(logits_of(net, x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        schedule.step()
    net.eval()
    with torch.no_grad():
        out = logits_of(net, x[n:])
    return {
        "val_acc": float((out.argmax(1) == y[n:]).float().mean()),
        "val_loss": float(F.cross_entropy(out, y[n:])),
    }


def main(recipe_path: str, seed_dir: str, others: int, epochs: int) -> None:
    recipe = fs.load_recipe(recipe_path)
    space = Space(recipe.space)
    data = torch.load(Path(seed_dir) / "data.pt", weights_only=True)  # data: no code runs
    x, y = student_view(data["images"], recipe.data), data["labels"]
    config = NetworkConfig(
        channels=recipe.supernet.channels,
        cells=recipe.supernet.cells,
        classes=len(data["classes"]),  # the teacher's classes (plant --set supernet.classes)
        auxiliary=False,
        drop_path=0.0,
    )
    genotypes = [("planted", load_genotype(Path(seed_dir) / "planted.json"))]
    genotypes += [
        (f"drawn{DRAW_SEED + s}", draw_genotype(space, DRAW_SEED + s)) for s in range(others)
    ]
    rows = []
    for name, genotype in genotypes:
        torch.manual_seed(0)
        start = time.perf_counter()
        row = {"genotype": name, **held_out_fit(build_network(genotype, config), x, y, epochs)}
        row["seconds"] = round(time.perf_counter() - start, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    (Path(seed_dir) / "oracle.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
