"""Figures from plain data: heatmap shape and labels, colours, matplotlib's global state."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import pytest

from factorspace.viz import figures, palette

EDGES_4 = [[j, i + 2] for i in range(4) for j in range(i + 2)]  # DARTS's 14 edges
OPS = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect"] + [
    f"{k}_conv_{s}x{s}" for k in ("sep", "dil") for s in (3, 5)
]


def test_edge_labels_name_nodes_as_the_cell_drawings_do():
    assert figures.edge_label((0, 2)) == "$c_{k-2}$→0"
    assert figures.edge_label((1, 3), tex=False) == "c_{k-1}→1"
    assert figures.edge_label((2, 4)) == "0→2"
    assert figures.edge_label((0, 3), bold=True) == r"$\mathbf{c_{k-2}}$→1"


def test_heatmap_has_a_row_per_edge_and_a_column_per_choice():
    weights = [[(i + j) % 5 / 10 + 0.05 for j in range(len(OPS))] for i in range(len(EDGES_4))]
    fig = figures.heatmap_figure(weights, EDGES_4, OPS, title="op, normal", kept={0, 13})
    ax, bar = fig.axes  # the heatmap, then its colour bar
    assert ax.images[0].get_array().shape == (14, 8)
    labels = [figures.edge_label(e, bold=k in (0, 13)) for k, e in enumerate(EDGES_4)]
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    assert [t.get_text() for t in ax.get_xticklabels()] == OPS
    assert len(ax.texts) == 14 * 8  # every weight written in its cell
    assert len(ax.patches) == 14  # each edge's strongest choice outlined
    assert bar.get_ylabel() == "softmax weight"
    assert ax.get_title() == "op, normal"
    bold = [k for k, t in enumerate(ax.get_yticklabels()) if t.get_fontweight() == "bold"]
    assert bold == [0, 13]


def test_heatmap_of_a_joint_space_skips_the_numbers():
    labels = [f"{op}|{a}" for op in OPS for a in ("relu", "elu", "selu", "swish", "celu")]
    weights = [[1 / len(labels)] * len(labels) for _ in EDGES_4]
    ax = figures.heatmap_figure(weights, EDGES_4, labels).axes[0]
    assert ax.images[0].get_array().shape == (14, 40)
    assert not ax.texts


def test_heatmap_rejects_weights_of_another_shape():
    with pytest.raises(ValueError, match=r"expected \(14, 8\)"):
        figures.heatmap_figure([[0.5, 0.5]] * 14, EDGES_4, OPS)


def test_activations_keep_the_colours_of_the_cell_drawings():
    assert figures.choice_colors(["relu", "selu"]) == {
        "relu": palette.ACTIVATION_COLORS["relu"],
        "selu": palette.ACTIVATION_COLORS["selu"],
    }
    assert figures.choice_colors(["none", "skip_connect"]) == dict(
        zip(["none", "skip_connect"], palette.CHOICE_COLORS[:2], strict=True)
    )


def test_many_choices_get_tab20_and_still_a_colour_each():
    many = figures.choice_colors([f"c{k}" for k in range(30)])
    assert len(many) == 30 and len(set(many.values())) == 20  # tab20, lines then dashed
    assert all(c.startswith("#") and len(c) == 7 for c in many.values())


def test_plotting_leaves_matplotlibs_global_state_alone(tmp_path):
    before = dict(matplotlib.rcParams)
    fig = figures.metrics_figure([{"epoch": 1, "train_loss": 2.0, "val_loss": 2.1}])
    figures.save_figure(fig, tmp_path / "plots" / "m")
    assert dict(matplotlib.rcParams) == before
    code = "import sys, factorspace.viz.plots; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_heatmap_outlines_what_derivation_kept_and_greys_what_it_dropped():
    """Rows 0 and 13 kept (row 13's factor not applying: no outline), the others dropped."""
    weights = [[0.9 if c == 0 else 0.01 for c in range(len(OPS))] for _ in EDGES_4]  # none wins
    fig = figures.heatmap_figure(weights, EDGES_4, OPS, chosen={0: 4, 13: None})
    ax = fig.axes[0]
    outlines = [p for p in ax.patches if not p.get_fill()]
    veils = [p for p in ax.patches if p.get_fill()]
    assert [(p.get_x() + 0.5, p.get_y() + 0.5) for p in outlines] == [(4, 0)]  # not `none`
    assert sorted(p.get_y() + 0.5 for p in veils) == list(range(1, 13))  # rows 1..12 greyed
    labels = ax.get_yticklabels()
    assert [k for k, t in enumerate(labels) if t.get_fontweight() == "bold"] == [0, 13]
    assert {t.get_color() for k, t in enumerate(labels) if k not in (0, 13)} == {
        figures.DROPPED_TEXT
    }
