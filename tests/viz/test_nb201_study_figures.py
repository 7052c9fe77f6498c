"""An NB201 study's figures build from plain data, one seed (no std) and searches without curves
included."""

from __future__ import annotations

from factorspace.evidence.nb201_published import PUBLISHED
from factorspace.study.lookup import random_baseline
from factorspace.viz.nb201_study import nb201_curves_figure, nb201_summary_figure


def test_one_seed_and_a_variant_without_curves_still_draw():
    row = {"variant": "a", "nb201_cifar10": 90.0, "nb201_cifar100": 70.0,
           "nb201_imagenet16_120": 40.0}  # fmt: skip
    summary = {"variant": "a", "n": 1, "best_of_k_cifar10": None}
    for d in ("cifar10", "cifar100", "imagenet16_120"):
        summary |= {f"nb201_{d}_mean": row[f"nb201_{d}"], f"nb201_{d}_std": None}
    fig = nb201_summary_figure([summary], [row], random_baseline(), PUBLISHED, title="t")
    assert [ax.get_title() for ax in fig.axes] == [
        "CIFAR-10 (best cell 94.37)", "CIFAR-100 (best cell 73.51)",
        "ImageNet16-120 (best cell 47.31)",
    ]  # fmt: skip
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "DARTS published: 54.30" in labels and "best cell" in labels
    curves = nb201_curves_figure({"a": {0: [(1, 80.0), (2, 85.0)]}, "b": {}}, 87.06, 94.37)
    assert [ax.get_title() for ax in curves.axes if ax.get_visible()] == ["a", "b"]


def test_the_curves_share_one_legend_and_a_seed_keeps_its_colour():
    curves = nb201_curves_figure(
        {"a": {0: [(1, 80.0)], 1: [(1, 90.0)]}, "b": {1: [(1, 70.0), (2, 75.0)]}}, 87.06, 94.37
    )
    (legend,) = curves.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "seed 0", "seed 1", "random cell's mean 87.06", "best cell 94.37",
    ]  # fmt: skip
    a, b = (ax for ax in curves.axes if ax.get_visible())
    assert a.get_legend() is None and b.get_legend() is None
    seed_1_in_a = a.get_lines()[1].get_color()
    assert b.get_lines()[0].get_color() == seed_1_in_a != a.get_lines()[0].get_color()
