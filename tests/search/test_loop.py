"""A tiny search end to end on the bundled data: run directory, moved parameters, resume."""

import json

import pytest
import torch

import factorspace as fs
from factorspace.compile import Space
from factorspace.genotype import check_genotype, load_genotype
from factorspace.search import search

TINY = [
    "supernet.channels=4",
    "supernet.cells=3",
    "space.cell.nodes=2",
    "search.epochs=2",
    "search.batch_size=16",
    "data.dataset=bundled",
    "data.subset_per_class=0.02",
    "data.workers=0",
    "data.image_size=16",
    "search.tensorboard=false",
]


def tiny_recipe(*extra):
    return fs.load_recipe("recipes/adarts_cifar.yaml", [*TINY, *extra])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    recipe = tiny_recipe()
    run_dir = tmp_path_factory.mktemp("run") / "search"
    return recipe, search(recipe, out=run_dir, device="cpu")


def test_search_writes_the_run_directory(finished):
    recipe, result = finished
    d = result.run_dir
    for name in ["recipe.yaml", "run.json", "metrics.jsonl", "metrics.csv", "genotype.json"]:
        assert (d / name).is_file(), name
    assert sorted(p.name for p in (d / "arch").iterdir()) == ["epoch_001.json", "epoch_002.json"]
    assert sorted(p.name for p in (d / "genotypes").iterdir()) == [
        "epoch_001.json",
        "epoch_002.json",
    ]
    assert (d / "checkpoints" / "last.pt").is_file()
    run = json.loads((d / "run.json").read_text())
    assert run["status"] == "complete" and run["env"]["torch"] == torch.__version__
    rows = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "entropy_op"} <= set(rows[0])
    assert (d / "metrics.csv").read_text().splitlines()[0].startswith("epoch,")


def test_every_factor_moved_and_genotype_fits_the_space(finished):
    recipe, result = finished
    arch = json.loads((result.run_dir / "arch" / "epoch_002.json").read_text())["alphas"]
    torch.manual_seed(recipe.search.seed)
    initial = fs.compile_supernet(recipe.space, recipe.supernet)  # same seed: the initial alphas
    for factor, params in initial.arch_parameters().items():
        for cell, p in zip(("normal", "reduce"), params, strict=True):
            moved = (torch.tensor(arch[cell][factor]) - p.detach()).abs().max()
            assert moved > 1e-5, (factor, cell)
    genotype = load_genotype(result.run_dir / "genotype.json")
    check_genotype(genotype, Space(recipe.space))
    assert genotype == result.genotype


def test_resume_between_epochs_matches_the_uninterrupted_run(tmp_path, finished, monkeypatch):
    from factorspace.search import Interrupted
    from factorspace.search.loop import Search

    recipe, full = finished
    original = Search.end_epoch

    def end_epoch_then_ctrl_c(self):
        original(self)
        if self.epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(Search, "end_epoch", end_epoch_then_ctrl_c)
    run_dir = tmp_path / "resumed"
    with pytest.raises(Interrupted, match="--resume"):
        search(recipe, out=run_dir, device="cpu")
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    monkeypatch.setattr(Search, "end_epoch", original)
    resumed = search(recipe, out=run_dir, device="cpu", resume=True)
    for cell in ("normal", "reduce"):
        for factor, w in full.arch_weights[cell].items():
            torch.testing.assert_close(resumed.arch_weights[cell][factor], w, atol=1e-6, rtol=0)
    assert resumed.genotype.normal == full.genotype.normal
    assert [r["epoch"] for r in resumed.metrics] == [1, 2]


def test_resume_refuses_a_run_of_another_recipe(finished):
    _, result = finished
    other = tiny_recipe("search.batch_size=8")
    with pytest.raises(fs.FactorspaceError, match="made by another recipe"):
        search(other, out=result.run_dir, device="cpu", resume=True)


def test_existing_run_directory_is_not_overwritten(finished):
    recipe, result = finished
    with pytest.raises(fs.FactorspaceError, match="already exists and is not empty"):
        search(recipe, out=result.run_dir, device="cpu")


def test_an_fp16_search_scales_the_weight_step_and_checkpoints_the_scale(tmp_path):
    from factorspace.run.checkpoint import load_checkpoint
    from factorspace.run.rundir import RunDir
    from tests.search.tiny import one_thread
    from tests.search.tiny import tiny_recipe as tiny_yaml

    # torch has no float16 rrelu on the CPU: the tiny space without it
    recipe = tiny_yaml("search.precision=fp16", "search.epochs=1", "space.factors.1.choices=[relu]")
    with one_thread():
        result = search(recipe, out=tmp_path / "run", device="cpu")
    assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in result.metrics)
    state = load_checkpoint(RunDir(result.run_dir).checkpoint)
    assert state["scaler"]["scale"] > 0  # the GradScaler's state: a resume goes on with it


def test_the_evaluation_batch_changes_the_calls_not_the_figures(tmp_path):
    from factorspace.search.loop import Search

    def evaluated(eval_batch_size):
        recipe = tiny_recipe(f"search.eval_batch_size={eval_batch_size}")
        run = Search(recipe, tmp_path / str(eval_batch_size), torch.device("cpu"), None)
        sizes = []
        run.net.register_forward_pre_hook(lambda _, args: sizes.append(len(args[0])))
        run.data.set_epoch(1)  # the same pass of the (augmented) validation portion
        return run.evaluate(), sizes, len(run.data.val_indices)

    (loss, acc), sizes, n = evaluated("null")  # DARTS's infer: batches of search.batch_size
    assert sizes == [min(16, n - i) for i in range(0, n, 16)]
    (loss_7, acc_7), sizes_7, _ = evaluated(7)
    assert sizes_7 == [min(7, n - i) for i in range(0, n, 7)]
    assert acc_7 == acc and loss_7 == pytest.approx(loss, rel=1e-5)
