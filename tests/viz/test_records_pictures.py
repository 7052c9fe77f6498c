"""What the report and plots print: integer epoch ticks, aligned genotype tables, rates in words."""

from __future__ import annotations

import re

import numpy as np
import pytest

from factorspace.genotype import Genotype
from factorspace.viz import figures
from factorspace.viz.sections import genotype_table, images_per_second


def visible_ticks(ax) -> list[float]:
    ax.figure.canvas.draw()
    low, high = sorted(ax.get_xlim())
    return [t for t in ax.get_xticks() if low <= t <= high]


@pytest.mark.parametrize("epochs", [[0], [0, 1], list(range(7))])
def test_epoch_axes_tick_whole_epochs_only(epochs):
    rows = [
        {"epoch": e, "train_loss": 2.0, "val_loss": 2.1, "train_acc": 0.1, "val_acc": 0.1}
        for e in epochs
    ]
    weights = {"normal": np.full((len(epochs), 2, 3), 1 / 3)}
    for fig in (
        figures.metrics_figure(rows),
        figures.trajectory_figure(epochs, weights, ["a", "b", "c"]),
        figures.edge_trajectories_figure(
            epochs, weights["normal"], [[0, 2], [1, 2]], ["a", "b", "c"]
        ),
    ):
        for ax in fig.axes:
            if not ax.get_xlabel() and not ax.lines:
                continue  # a legend-only or empty panel
            ticks = visible_ticks(ax)
            assert ticks, "no tick on an epoch axis"
            assert all(float(t).is_integer() for t in ticks), ticks


def table_columns(html: str) -> list[str]:
    return re.findall(r"<th>([^<]*)</th>", html.split("</thead>")[0])


def test_normal_and_reduce_tables_have_the_same_columns_in_the_same_order():
    genotype = Genotype.model_validate(
        {
            "normal": {
                "edges": [
                    {"source": 0, "target": 2, "op": "conv", "arguments": {"kernel_size": 3}},
                    {
                        "source": 1,
                        "target": 2,
                        "op": "sep_conv_3x3",
                        "inputs": {"activation": "elu"},
                    },
                ],
                "concat": [2],
            },
            "reduce": {
                "edges": [
                    {
                        "source": 0,
                        "target": 2,
                        "op": "sep_conv_3x3",
                        "inputs": {"activation": "selu"},
                    },
                    {"source": 1, "target": 2, "op": "max_pool_3x3"},
                ],
                "concat": [2],
            },
        }
    )
    normal = table_columns(genotype_table(genotype, "normal"))
    reduce = table_columns(genotype_table(genotype, "reduce"))
    assert normal == reduce == ["edge", "operator", "activation", "kernel_size"]


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (1.0, "1 image/s"),
        (0.6, "0.6 images/s"),
        (0.25, "0.25 images/s"),
        (12.46, "12.5 images/s"),
        (1234.4, "1,234 images/s"),
    ],
)
def test_images_per_second_in_words(rate, text):
    assert images_per_second(rate) == text
