"""``plant(recipe, seeds)``: search a space on data labelled by a planted architecture, and
score what the search recovers (the benchmark of docs/evidence.md).

Per seed, in ``OUT/seed_N/``: a genotype drawn from the space (``planted.json``), a teacher built
from it (:mod:`.teacher`), the recipe's training images labelled by the teacher's argmax
(``data.pt``, read back by ``data.dataset: tensors``), an ordinary search run directory
(``search/``) and the scores (:mod:`.score`). ``OUT/plant.json`` and ``OUT/plant.csv`` hold
every seed and the mean.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from rich.console import Console

from factorspace.data.datasets import open_split
from factorspace.errors import FactorspaceError
from factorspace.evidence.draw import draw_genotype
from factorspace.evidence.score import (
    FactorScore,
    chance_levels,
    edge_picks,
    score_genotype,
    scored_factors,
)
from factorspace.evidence.teacher import (
    activation_separation,
    build_teacher,
    student_view,
    teacher_logits,
)
from factorspace.genotype import Genotype, check_genotype, save_genotype
from factorspace.run.atomic import atomic_write, atomic_write_text, write_json
from factorspace.run.rundir import csv_text, prepare_run_dir
from factorspace.schema import Recipe
from factorspace.search import search
from factorspace.space import Space


@dataclass
class SeedResult:
    seed: int
    planted: Genotype
    found: Genotype
    scores: dict[str, FactorScore]
    run_dir: Path
    class_counts: list[int]
    separation: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class PlantResult:
    out: Path
    cells: list[str]  # the cell types the network has: only these are scored
    chance: dict[str, float]
    seeds: list[SeedResult]

    def mean(self) -> dict[str, float]:
        """Per factor, the recovered share averaged over seeds (seeds where it is defined)."""
        return {f: _mean([s.scores[f].recovered for s in self.seeds]) for f in self.chance}

    def rows(self) -> list[dict]:
        """plant.csv: one row per seed and factor, then the mean rows (``seed`` = mean)."""
        rows = [
            {
                "seed": s.seed,
                "factor": f,
                "matched": score.matched,
                "total": score.total,
                "recovered": score.recovered,
                "chance": score.chance,
            }
            for s in self.seeds
            for f, score in s.scores.items()
        ]
        mean = self.mean()
        rows += [
            {"seed": "mean", "factor": f, "recovered": mean[f], "chance": c}
            for f, c in self.chance.items()
        ]
        return rows

    def to_json(self) -> dict:
        return {
            "cells_scored": self.cells,
            "chance": self.chance,
            "mean": self.mean(),
            "seeds": [
                {
                    "seed": s.seed,
                    "run_dir": str(s.run_dir),
                    "seconds": round(s.seconds, 1),
                    "scores": {
                        f: {"matched": v.matched, "total": v.total, "recovered": v.recovered}
                        for f, v in s.scores.items()
                    },
                    "teacher_class_counts": s.class_counts,
                    "activation_separation": s.separation,
                    "planted": s.planted.model_dump(mode="json", exclude_none=True),
                    "found": s.found.model_dump(mode="json", exclude_none=True),
                }
                for s in self.seeds
            ],
        }


def plant(
    recipe: Recipe,
    seeds: Iterable[int],
    *,
    genotype: Genotype | None = None,
    out: Path | str | None = None,
    device: str | torch.device = "auto",
    console: Console | None = None,
) -> PlantResult:
    """Plant a genotype per seed, search the recipe's space on its labels, score the result.

    Args:
        recipe: the space, supernet sizes, search settings and the source of the teacher's
            inputs (``data``: the training split, its first ``subset_per_class`` share).
        seeds: distinct integers: each draws the genotype (unless ``genotype``), the teacher's
            weights and the search's seed.
        genotype: plant this genotype for every seed instead of drawing one.
        out: the parent directory (default ``runs/NAME-TIME-plant``); new or empty.
        device: the search's device (the teacher runs on the CPU).
        console: where progress goes (``None``: silent).

    Raises:
        FactorspaceError: repeated seeds, a genotype that does not fit the space, reduction
            cells other than DARTS's (the teacher network has DARTS's), unusable data.
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise FactorspaceError(f"seeds must be distinct and at least one: {seeds}")
    space = Space(recipe.space)
    _check_plantable(recipe, space, genotype)
    parent = prepare_run_dir(Path(out) if out else None, recipe.name or "plant", False, "-plant")
    images = source_images(recipe)
    chance = chance_levels(space)
    cells = cells_used(recipe)
    result = PlantResult(parent, cells, {f: chance[f] for f in scored_factors(space)}, [])
    for seed in seeds:
        if console is not None:
            console.rule(f"plant seed {seed}")
        result.seeds.append(
            _plant_seed(recipe, space, seed, genotype, images, parent, cells, device, console)
        )
        write_results(result)  # after every seed: a killed run keeps the seeds it finished
    return result


def _plant_seed(recipe, space, seed, genotype, images, parent, cells, device, console):
    start = time.perf_counter()
    seed_dir = parent / f"seed_{seed}"
    seed_dir.mkdir()
    planted = genotype or draw_genotype(space, seed, name=f"planted-seed{seed}")
    save_genotype(planted, seed_dir / "planted.json")
    inputs = student_view(images, recipe.data)
    teacher = build_teacher(planted, recipe, inputs, seed)
    labels = teacher_logits(teacher, inputs).argmax(1)
    classes = [str(c) for c in range(recipe.supernet.classes)]
    data_file = seed_dir / "data.pt"
    contents = {"images": images, "labels": labels, "classes": classes}
    atomic_write(data_file, lambda f: torch.save(contents, f))
    searched = search(
        planted_recipe(recipe, data_file, seed),
        out=seed_dir / "search",
        device=device,
        console=console,
    )
    picks = edge_picks(space, searched.arch_weights)
    scores = score_genotype(space, planted, searched.genotype, picks=picks, cells=cells)
    return SeedResult(
        seed,
        planted,
        searched.genotype,
        scores,
        searched.run_dir,
        torch.bincount(labels, minlength=len(classes)).tolist(),
        activation_separation(teacher, space, inputs),
        time.perf_counter() - start,
    )


def planted_recipe(recipe: Recipe, data_file: Path, seed: int) -> Recipe:
    """The recipe a seed searches: its data the teacher-labelled tensors file, un-augmented (a
    crop or flip would change the teacher's label), every image of it used."""
    data = recipe.data.model_copy(
        update={
            "dataset": "tensors",
            "root": data_file,
            "augment": False,
            "subset_per_class": None,
            "val_subset_per_class": None,
        }
    )
    search_config = recipe.search.model_copy(update={"seed": seed})
    return recipe.model_copy(update={"data": data, "search": search_config})


def source_images(recipe: Recipe) -> torch.Tensor:
    """uint8 (N, 3, S, S): the first ``data.subset_per_class`` share (default all) of the
    recipe's training split, whose own labels are dropped."""
    split = open_split(recipe.data, "train")
    share = recipe.data.subset_per_class or 1.0
    n = max(1, math.floor(share * len(split.labels) + 1e-9))
    images = split.load(torch.arange(n), recipe.data.image_size)
    if images.is_floating_point():  # a tensors file of float images (kept as x 255)
        images = images.round().clamp(0, 255).byte()
    return images


def cells_used(recipe: Recipe) -> list[str]:
    """The cell types the supernet stacks: a cell type it never builds cannot be recovered."""
    reductions = set(recipe.supernet.reductions)
    used = []
    if any(i not in reductions for i in range(recipe.supernet.cells)):
        used.append("normal")
    if reductions:
        used.append("reduce")
    return used


def write_results(result: PlantResult) -> None:
    write_json(result.out / "plant.json", result.to_json())
    atomic_write_text(result.out / "plant.csv", csv_text(result.rows()))


def _check_plantable(recipe: Recipe, space: Space, genotype: Genotype | None) -> None:
    config = recipe.supernet
    if config.kind != "darts":  # NAS-Bench-201 has its trained accuracies: `factorspace nb201`
        raise FactorspaceError(
            f"the planted benchmark's teacher is DARTS's network; a {config.kind} recipe's "
            "cells have no teacher here (an nb201 search looks its cells up instead)",
            field="supernet.kind",
        )
    darts = sorted({config.cells // 3, 2 * config.cells // 3})
    if config.reductions != darts or config.stem != "cifar" or config.in_channels != 3:
        raise FactorspaceError(
            "the teacher is DARTS's CIFAR network (3 input channels, reductions at 1/3 and 2/3 "
            f"of the depth: cells {darts}); leave supernet.reduction_cells, stem and in_channels "
            "at their defaults",
            field="supernet",
        )
    if genotype is not None:
        check_genotype(genotype, space)


def _mean(values: list[float]) -> float:
    defined = [v for v in values if not math.isnan(v)]
    return sum(defined) / len(defined) if defined else math.nan
