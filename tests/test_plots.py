"""Plots of a search run: heatmap shape and labels, valid PNG/PDF files, seed frequencies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import matplotlib
import pytest
from PIL import Image

import factorspace as fs
from factorspace.errors import FactorspaceError
from factorspace.genotype import load_genotype, save_genotype
from factorspace.search import search
from factorspace.viz import plots
from tests.search.test_loop import TINY  # the tiny search every run-directory test uses

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EDGES_4 = [[j, i + 2] for i in range(4) for j in range(i + 2)]  # DARTS's 14 edges
OPS = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect"] + [
    f"{k}_conv_{s}x{s}" for k in ("sep", "dil") for s in (3, 5)
]


def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-epoch search on the bundled data, made once per session (about 15 s)."""
    run_dir = tmp_path_factory.getbasetemp() / "tiny_search"
    if not (run_dir / "genotype.json").is_file():
        shutil.rmtree(run_dir, ignore_errors=True)
        recipe = fs.load_recipe("recipes/adarts_cifar.yaml", TINY)
        search(recipe, out=run_dir, device="cpu")
    return run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory)


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC), path
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.width > 0 and im.height > 0, path


def assert_pdf(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:], path


def assert_figures(paths: list[Path], stems: list[str]) -> None:
    """``paths`` are exactly ``stem.png`` and ``stem.pdf`` for each stem, valid, in plots/."""
    expected = sorted(f"{s}.{fmt}" for s in stems for fmt in ("png", "pdf"))
    assert sorted(p.name for p in paths) == expected
    for p in paths:
        assert p.parent.name == "plots"
        (assert_png if p.suffix == ".png" else assert_pdf)(p)
    leftovers = [p.name for p in paths[0].parent.iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


# --- figures from plain data -------------------------------------------------------------------


def test_edge_labels_name_nodes_as_the_cell_drawings_do():
    assert plots.edge_label((0, 2)) == "$c_{k-2}$→0"
    assert plots.edge_label((1, 3), tex=False) == "c_{k-1}→1"
    assert plots.edge_label((2, 4)) == "0→2"
    assert plots.edge_label((0, 3), bold=True) == r"$\mathbf{c_{k-2}}$→1"


def test_heatmap_has_a_row_per_edge_and_a_column_per_choice():
    weights = [[(i + j) % 5 / 10 + 0.05 for j in range(len(OPS))] for i in range(len(EDGES_4))]
    fig = plots.heatmap_figure(weights, EDGES_4, OPS, title="op, normal", kept={0, 13})
    ax, bar = fig.axes  # the heatmap, then its colour bar
    assert ax.images[0].get_array().shape == (14, 8)
    labels = [plots.edge_label(e, bold=k in (0, 13)) for k, e in enumerate(EDGES_4)]
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
    ax = plots.heatmap_figure(weights, EDGES_4, labels).axes[0]
    assert ax.images[0].get_array().shape == (14, 40)
    assert not ax.texts


def test_heatmap_rejects_weights_of_another_shape():
    with pytest.raises(ValueError, match=r"expected \(14, 8\)"):
        plots.heatmap_figure([[0.5, 0.5]] * 14, EDGES_4, OPS)


def test_activations_keep_the_colours_of_the_cell_drawings():
    from factorspace.viz.render import ACTIVATION_COLORS

    assert plots.choice_colors(["relu", "selu"]) == {
        "relu": ACTIVATION_COLORS["relu"],
        "selu": ACTIVATION_COLORS["selu"],
    }
    many = plots.choice_colors([f"c{k}" for k in range(30)])
    assert len(many) == 30


def test_plotting_leaves_matplotlibs_global_state_alone(tmp_path):
    before = dict(matplotlib.rcParams)
    fig = plots.metrics_figure([{"epoch": 1, "train_loss": 2.0, "val_loss": 2.1}])
    plots.save_figure(fig, tmp_path / "plots" / "m")
    assert dict(matplotlib.rcParams) == before
    code = "import sys, factorspace.viz.plots; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- a run's plots -----------------------------------------------------------------------------


def test_arch_heatmaps_of_a_run(run_dir):
    paths = plots.plot_arch_heatmaps(run_dir)
    assert_figures(
        paths, [f"arch_{f}_{c}" for f in ("op", "activation") for c in ("normal", "reduce")]
    )


def test_kept_edges_are_the_genotypes(run_dir):
    last = plots.load_arch_records(run_dir)[-1]
    kept = plots.kept_edges(run_dir, last)
    genotype = load_genotype(run_dir / "genotypes" / "epoch_002.json")
    for cell in ("normal", "reduce"):
        edges = {(e.source, e.target) for e in getattr(genotype, cell).edges}
        assert {tuple(last["edges"][k]) for k in kept[cell]} == edges


def test_heatmap_matches_the_runs_last_arch_record(run_dir):
    last = plots.load_arch_records(run_dir)[-1]
    assert last["epoch"] == 2 and len(last["edges"]) == 5  # two nodes: 2 + 3 edges
    for factor, names in last["choices"].items():
        fig = plots.heatmap_figure(last["weights"]["reduce"][factor], last["edges"], names)
        assert fig.axes[0].images[0].get_array().shape == (5, len(names))


def test_edge_normalisation_weights_get_their_own_heatmap(run_dir, tmp_path):
    shutil.copytree(run_dir / "arch", tmp_path / "arch")
    last = sorted((tmp_path / "arch").iterdir())[-1]
    record = json.loads(last.read_text())
    record["edge_weights"] = {
        "normal": [0.5, 0.5, 0.2, 0.3, 0.5],
        "reduce": [0.9, 0.1, 0.3, 0.3, 0.4],
    }
    last.write_text(json.dumps(record))
    paths = plots.plot_arch_heatmaps(tmp_path, formats=("png",))
    assert tmp_path / "plots" / "arch_edges.png" in paths
    fig = plots.heatmap_figure(
        [[0.5, 0.9], [0.5, 0.1], [0.2, 0.3], [0.3, 0.3], [0.5, 0.4]],
        record["edges"],
        ["normal", "reduce"],
        outline=False,
    )
    assert fig.axes[0].images[0].get_array().shape == (5, 2) and not fig.axes[0].patches


def test_arch_trajectories_of_a_run(run_dir):
    assert_figures(
        plots.plot_arch_trajectories(run_dir), ["trajectory_op", "trajectory_activation"]
    )
    paths = plots.plot_arch_trajectories(run_dir, per_edge=True)
    stems = [f"trajectory_{f}" for f in ("op", "activation")]
    stems += [
        f"trajectory_{f}_{c}_edges" for f in ("op", "activation") for c in ("normal", "reduce")
    ]
    assert_figures(paths, stems)


def test_metrics_of_a_run(run_dir):
    assert_figures(plots.plot_metrics(run_dir), ["metrics"])


def test_a_directory_without_records_says_so(tmp_path):
    with pytest.raises(FactorspaceError, match="no arch/epoch_NNN.json"):
        plots.plot_arch_heatmaps(tmp_path)
    with pytest.raises(FactorspaceError, match="no metrics.jsonl"):
        plots.plot_metrics(tmp_path)


# --- several seeds -----------------------------------------------------------------------------


def seed_parent(run_dir: Path, parent: Path, n: int) -> list[Path]:
    """``parent/seed_0..n-1``: copies of the run's recipe and genotype; seed k > 0 has its first
    normal edge changed to skip_connect."""
    runs = []
    for k in range(n):
        seed = parent / f"seed_{k}"
        seed.mkdir(parents=True)
        shutil.copy(run_dir / "recipe.yaml", seed)
        g = load_genotype(run_dir / "genotype.json")
        if k:
            g.normal.edges[0] = g.normal.edges[0].model_copy(
                update={"op": "skip_connect", "inputs": {}}
            )
        save_genotype(g, seed / "genotype.json")
        runs.append(seed)
    return runs


def test_seed_frequencies_count_every_kept_edge(run_dir, tmp_path):
    runs = seed_parent(run_dir, tmp_path, 11)
    (tmp_path / "plots").mkdir()  # not a run: ignored
    assert plots.seed_runs(tmp_path) == runs  # seed_10 after seed_9
    counts, choices, n = plots.seed_frequencies(tmp_path)
    assert n == 11 and set(choices) == {"op", "activation"}
    assert choices["op"] == OPS[1:] and len(choices["activation"]) == 9  # never "none"
    expected = {f: {c: Counter() for c in ("normal", "reduce")} for f in ("op", "activation")}
    for seed in runs:
        g = load_genotype(seed / "genotype.json")
        for cell in ("normal", "reduce"):
            for e in getattr(g, cell).edges:
                expected["op"][cell][e.op] += 1
                if "activation" in e.inputs:
                    expected["activation"][cell][e.inputs["activation"]] += 1
    assert counts == expected
    assert counts["op"]["normal"]["skip_connect"] >= 10


def test_plot_seed_frequencies_writes_into_the_parent(run_dir, tmp_path):
    seed_parent(run_dir, tmp_path, 2)
    paths = plots.plot_seed_frequencies(tmp_path)
    assert_figures(paths, ["seed_frequencies"])
    assert paths[0].parent == tmp_path / "plots"


def test_seed_frequencies_need_runs(tmp_path):
    (tmp_path / "seed_0").mkdir()
    with pytest.raises(FactorspaceError, match="no run directories"):
        plots.seed_frequencies(tmp_path)


def test_metrics_rows_are_read_in_epoch_order(run_dir):
    rows = plots.load_metrics(run_dir)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows == [
        json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
