"""A run's plots: the files written into plots/, their names, valid PNG/PDF, seed frequencies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from factorspace.errors import FactorspaceError
from factorspace.viz import figures, plots, records
from tests.viz.test_records import seed_parent

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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


# --- a run's plots -----------------------------------------------------------------------------


def test_figure_names_make_a_factor_name_a_file_name():
    assert plots.slug("kernel size/dilation") == "kernel_size_dilation"
    assert plots.heatmap_stem("op", "reduce") == "arch_op_reduce"
    assert plots.trajectory_stem("kernel size") == "trajectory_kernel_size"
    assert plots.trajectory_stem("op", "normal") == "trajectory_op_normal_edges"


def test_a_factor_with_spaces_gets_the_files_its_stems_name(run_dir, tmp_path):
    shutil.copytree(run_dir / "arch", tmp_path / "arch")
    for path in (tmp_path / "arch").iterdir():
        record = json.loads(path.read_text())
        for key in ("choices",):
            record[key] = {f"my {k}": v for k, v in record[key].items()}
        for cell in record["weights"]:
            record["weights"][cell] = {f"my {k}": v for k, v in record["weights"][cell].items()}
        path.write_text(json.dumps(record))
    paths = plots.plot_arch_heatmaps(tmp_path, formats=("png",))
    paths += plots.plot_arch_trajectories(tmp_path, per_edge=True, formats=("png",))
    stems = {p.stem for p in paths}
    for factor in ("my op", "my activation"):
        assert plots.trajectory_stem(factor) in stems
        for cell in ("normal", "reduce"):
            assert {plots.heatmap_stem(factor, cell), plots.trajectory_stem(factor, cell)} <= stems


def test_plots_still_offers_the_names_it_had_before_the_split():
    """Notebooks import these from plots; their homes are figures and records."""
    assert plots.heatmap_figure is figures.heatmap_figure
    assert plots.save_figure is figures.save_figure and plots.FORMATS == ("png", "pdf")
    assert plots.load_arch_records is records.load_arch_records
    assert plots.seed_runs is records.seed_runs
    assert plots.choice_colors is figures.choice_colors


def test_a_directory_without_records_says_so(tmp_path):
    with pytest.raises(FactorspaceError, match="no arch/epoch_NNN.json"):
        plots.plot_arch_heatmaps(tmp_path)
    with pytest.raises(FactorspaceError, match="no metrics.jsonl"):
        plots.plot_metrics(tmp_path)


def test_arch_heatmaps_of_a_run(run_dir):
    paths = plots.plot_arch_heatmaps(run_dir)
    assert_figures(
        paths, [f"arch_{f}_{c}" for f in ("op", "activation") for c in ("normal", "reduce")]
    )


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


# --- several seeds -----------------------------------------------------------------------------


def test_plot_seed_frequencies_writes_into_the_parent(run_dir, tmp_path):
    seed_parent(run_dir, tmp_path, 2)
    paths = plots.plot_seed_frequencies(tmp_path)
    assert_figures(paths, ["seed_frequencies"])
    assert paths[0].parent == tmp_path / "plots"
