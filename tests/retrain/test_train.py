"""Re-training end to end at a tiny size: run directory, schedules, resume, interruption, recipes."""

from __future__ import annotations

import json
import math
import os
import signal
import textwrap
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

from factorspace.errors import FactorspaceError, RecipeError
from factorspace.genotype import load_genotype
from factorspace.genotype.zoo import get_genotype
from factorspace.retrain import load_train_recipe, train
from factorspace.retrain.train import Trainer, learning_rate
from factorspace.schema import TrainConfig
from factorspace.search import Interrupted
from tests.conftest import ROOT
from tests.search.tiny import one_thread

TRAIN_RECIPES = sorted((ROOT / "recipes").glob("train_*.yaml"))


def mini_imagefolder(root: Path, train_per_class: int = 10, test_per_class: int = 5) -> Path:
    """The first images of each class of the bundled set, as an ImageFolder (original JPEGs)."""
    with resources.as_file(resources.files("factorspace") / "datasets" / "cifar10_mini.npz") as f:
        arrays = np.load(f, allow_pickle=False)
        for split, per_class in (("train", train_per_class), ("test", test_per_class)):
            jpeg, offsets = arrays[f"{split}_jpeg"], arrays[f"{split}_offsets"]
            kept: dict[str, int] = {}
            for i, name in enumerate(arrays[f"{split}_names"].tolist()):
                label = name.split("/")[0]
                if kept.get(label, 0) < per_class:
                    kept[label] = kept.get(label, 0) + 1
                    path = root / split / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(jpeg[offsets[i] : offsets[i + 1]].tobytes())
    return root


def tiny(root: Path, *extra: str) -> list[str]:
    """8 channels, 5 cells at 32x32 (the auxiliary tower's size), 100 train / 50 test images."""
    return [
        "network.channels=8",
        "network.cells=5",
        "train.epochs=2",
        "train.batch_size=16",
        "data.dataset=imagefolder",
        f"data.root={root}",
        "data.workers=0",
        *extra,
    ]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread: on a loaded machine OpenMP's spinning threads make a step 30x slower."""
    with one_thread():
        yield


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return mini_imagefolder(tmp_path_factory.mktemp("mini"))


@pytest.fixture(scope="module")
def finished(data_root, tmp_path_factory):
    recipe = load_train_recipe(ROOT / "recipes" / "train_cifar.yaml", tiny(data_root))
    out = tmp_path_factory.mktemp("run") / "train"
    return recipe, train("darts_v2", recipe, out=out, device="cpu")


def test_train_writes_the_run_directory(finished):
    recipe, result = finished
    d = result.run_dir
    for name in ["recipe.yaml", "genotype.json", "run.json", "metrics.jsonl", "metrics.csv"]:
        assert (d / name).is_file(), name
    assert (d / "checkpoints" / "last.pt").is_file()
    assert load_genotype(d / "genotype.json") == get_genotype("darts_v2")
    run = json.loads((d / "run.json").read_text())
    assert run["status"] == "complete" and run["epochs_done"] == 2
    assert run["test_acc"] == result.test_acc and run["env"]["torch"] == torch.__version__
    rows = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
    assert rows == result.metrics and [r["epoch"] for r in rows] == [1, 2]
    for r in rows:
        assert 0 <= r["test_acc"] <= r["test_top5"] <= 1 and 0 <= r["train_acc"] <= 1
        assert r["seconds"] > 0 and r["images_per_s"] > 0
    assert (d / "metrics.csv").read_text().splitlines()[0].startswith("epoch,train_loss,")


def test_the_test_batch_changes_the_calls_not_the_figures(
    finished, data_root, tmp_path, monkeypatch
):
    from factorspace.retrain.trained import evaluate_checkpoint

    recipe, result = finished
    sizes, real = [], Trainer.end_epoch

    def counted(self):  # the batches of the test pass, through the model's forward
        hook = self.model.register_forward_pre_hook(lambda _, a: sizes.append(len(a[0])))
        try:
            real(self)
        finally:
            hook.remove()

    monkeypatch.setattr(Trainer, "end_epoch", counted)
    sevens = load_train_recipe(
        ROOT / "recipes" / "train_cifar.yaml", tiny(data_root, "train.eval_batch_size=7")
    )
    other = train("darts_v2", sevens, out=tmp_path / "train", device="cpu")
    assert sizes == 2 * ([7] * 7 + [1])  # 50 test images, each epoch
    for a, b in zip(result.metrics, other.metrics, strict=True):
        assert a["train_loss"] == b["train_loss"]  # the training itself is untouched
        assert a["test_acc"] == b["test_acc"] and a["test_top5"] == b["test_top5"]
        assert a["test_loss"] == pytest.approx(b["test_loss"], rel=1e-5)
    checkpoint = result.run_dir / "checkpoints" / "last.pt"
    default = evaluate_checkpoint(checkpoint, device="cpu")
    in_sevens = evaluate_checkpoint(checkpoint, device="cpu", overrides=["train.eval_batch_size=7"])
    assert in_sevens["top1"] == default["top1"] and in_sevens["images"] == default["images"] == 50
    assert in_sevens["loss"] == pytest.approx(default["loss"], rel=1e-5)


def test_learning_rate_and_drop_path_follow_the_schedules(finished):
    recipe, result = finished
    cfg = recipe.train
    assert [r["lr"] for r in result.metrics] == [cfg.lr, learning_rate(cfg, 1)]
    assert learning_rate(cfg, 1) == pytest.approx(cfg.lr / 2)  # cosine halfway, floor 0
    assert [r["drop_path"] for r in result.metrics] == [0.0, 0.4 / 2]  # 0.4 * epoch / epochs


def test_learning_rate_warms_up_linearly_then_follows_the_cosine():
    cfg = TrainConfig(epochs=10, lr=0.25, lr_min=0.05, warmup_epochs=5)
    lrs = [learning_rate(cfg, e) for e in range(10)]
    assert lrs[:5] == pytest.approx([0.05, 0.1, 0.15, 0.2, 0.25])
    assert lrs[5] == 0.25 and lrs[5:] == sorted(lrs[5:], reverse=True) and lrs[-1] > 0.05


def _weights_equal(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        torch.testing.assert_close(x.float(), y.float(), atol=1e-6, rtol=0, msg=name)


def test_sigterm_between_epochs_then_resume_gives_the_uninterrupted_weights(
    finished, tmp_path, monkeypatch
):
    recipe, full = finished
    original = Trainer.end_epoch

    def end_epoch_then_sigterm(self):
        original(self)
        if self.epoch == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(Trainer, "end_epoch", end_epoch_then_sigterm)
    out = tmp_path / "resumed"
    with pytest.raises(Interrupted, match="--resume"):
        train("darts_v2", recipe, out=out, device="cpu")
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    assert [r["epoch"] for r in map(json.loads, (out / "metrics.jsonl").open())] == [1]
    monkeypatch.setattr(Trainer, "end_epoch", original)
    resumed = train("darts_v2", recipe, out=out, device="cpu", resume=True)
    _weights_equal(resumed.model, full.model)
    assert [r["epoch"] for r in resumed.metrics] == [1, 2]
    assert resumed.test_acc == full.test_acc


def test_sigterm_mid_epoch_then_resume_gives_the_uninterrupted_weights(
    finished, tmp_path, monkeypatch
):
    recipe, full = finished
    original = Trainer.train_step

    def step_then_sigterm(self, x, y):
        result = original(self, x, y)
        if self.epoch == 1 and self.step == 2:  # during the 3rd step of the 2nd epoch
            os.kill(os.getpid(), signal.SIGTERM)
        return result

    monkeypatch.setattr(Trainer, "train_step", step_then_sigterm)
    out = tmp_path / "resumed"
    with pytest.raises(Interrupted, match="epoch 2, step 3"):
        train("darts_v2", recipe, out=out, device="cpu")
    monkeypatch.setattr(Trainer, "train_step", original)
    resumed = train("darts_v2", recipe, out=out, device="cpu", resume=True)
    _weights_equal(resumed.model, full.model)
    assert resumed.metrics[-1]["train_loss"] == pytest.approx(full.metrics[-1]["train_loss"])


def test_resume_refuses_another_recipe_or_genotype(finished, data_root):
    recipe, result = finished
    other = load_train_recipe(None, tiny(data_root, "train.lr=0.1"))
    with pytest.raises(FactorspaceError, match="made by another recipe"):
        train("darts_v2", other, out=result.run_dir, device="cpu", resume=True)
    with pytest.raises(FactorspaceError, match="another genotype"):
        train("darts_v1", recipe, out=result.run_dir, device="cpu", resume=True)


def test_existing_run_directory_is_not_overwritten(finished):
    recipe, result = finished
    with pytest.raises(FactorspaceError, match="already exists and is not empty"):
        train("darts_v2", recipe, out=result.run_dir, device="cpu")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["network.classes=5"], "network.classes: 5, but the data has 10 classes"),
        (["train.batch_size=1000"], "train.batch_size: 1000 is more than the training split's 100"),
    ],
)
def test_bad_starts_say_what_to_set_and_leave_no_run_directory(
    data_root, tmp_path, overrides, message
):
    recipe = load_train_recipe(None, tiny(data_root, *overrides))
    with pytest.raises(FactorspaceError, match=message):
        train("darts_v2", recipe, out=tmp_path / "run", device="cpu")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("path", TRAIN_RECIPES, ids=lambda p: p.stem)
def test_shipped_train_recipes_validate(path):
    recipe = load_train_recipe(path)
    assert recipe.name == path.stem


def test_train_recipes_hold_the_papers_settings():
    cifar = load_train_recipe(ROOT / "recipes" / "train_cifar.yaml")
    assert (cifar.network.channels, cifar.network.cells, cifar.network.drop_path) == (36, 20, 0.4)
    assert cifar.network.auxiliary_weight == 0.4
    t = cifar.train
    assert (t.epochs, t.batch_size, t.lr, t.lr_min, t.momentum) == (600, 128, 0.03, 0, 0.9)
    assert (t.weight_decay, t.grad_clip, t.cutout, t.warmup_epochs) == (3e-4, 5, 16, 0)
    imagenet = load_train_recipe(ROOT / "recipes" / "train_imagenet.yaml")
    assert (imagenet.network.channels, imagenet.network.cells) == (48, 14)
    assert imagenet.network.auxiliary_weight == 0.2 and imagenet.data.dataset == "imagefolder"
    t = imagenet.train
    assert (t.epochs, t.batch_size, t.lr, t.warmup_epochs) == (250, 512, 0.25, 5)
    assert (t.weight_decay, t.momentum, t.label_smoothing) == (3e-5, 0.9, 0.1)


def test_a_bad_recipe_key_gets_a_located_message(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        textwrap.dedent("""\
        network: {channels: 8}
        train:
          epoch: 3
        """)
    )
    with pytest.raises(RecipeError, match=r"r.yaml:3: train.epoch: .*did you mean 'epochs'"):
        load_train_recipe(path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.val_subset_per_class=0.1"], "data.val_subset_per_class: a re-training has no"),
        (["train.warmup_epochs=5", "train.epochs=5"], "train.warmup_epochs: 5 leaves no epoch"),
        (["train.lr_min=1"], "train.lr_min: 1.0 is above lr"),
        (["network.dataset=cifar100"], "network.dataset: unknown dataset 'cifar100'"),
        (
            ["train.eval_batch_size=1000000000"],
            "train.eval_batch_size: 1000000000 images per evaluation batch need about .* above "
            "limits.memory = 128 GiB; reduce train.eval_batch_size or raise the limit",
        ),
    ],
)
def test_recipe_rules_name_the_field(overrides, message):
    with pytest.raises(RecipeError, match=message):
        load_train_recipe(ROOT / "recipes" / "train_cifar.yaml", overrides)


def test_the_old_amp_key_is_refused_naming_train_precision(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("network: {channels: 8}\ntrain:\n  amp: true\n")
    with pytest.raises(RecipeError) as e:
        load_train_recipe(path)
    assert str(e.value) == (
        f"{path}:3: train.amp: replaced by train.precision (fp32, bf16 or fp16); "
        "`amp: true` was `precision: bf16`"
    )


def test_an_fp16_training_checkpoints_its_loss_scale(data_root, tmp_path):
    from factorspace.run.checkpoint import load_checkpoint
    from factorspace.run.rundir import RunDir

    recipe = load_train_recipe(None, tiny(data_root, "train.precision=fp16", "train.epochs=1"))
    result = train("darts_v2", recipe, out=tmp_path / "run", device="cpu")
    assert math.isfinite(result.metrics[-1]["train_loss"])
    state = load_checkpoint(RunDir(result.run_dir).checkpoint)
    assert state["format"] == "factorspace.train" and state["scaler"]["scale"] > 0


# ---- train.max_steps and data.subset_per_class: re-trainings that fit a study --------------------


def test_max_steps_stops_mid_epoch_then_evaluates_and_ends_as_a_normal_run(data_root, tmp_path):
    # 100 images, batch 16: 7 steps an epoch; 9 steps end 2 steps into the 2nd of 3 epochs
    recipe = load_train_recipe(None, tiny(data_root, "train.epochs=3", "train.max_steps=9"))
    seen = []
    original = Trainer.train_step

    def counted(self, x, y):
        seen.append(len(y))
        return original(self, x, y)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(Trainer, "train_step", counted)
        result = train("darts_v2", recipe, out=tmp_path / "run", device="cpu")
    assert len(seen) == 9
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["status"] == "complete" and run["epochs_done"] == 2
    assert [r["epoch"] for r in result.metrics] == [1, 2] and run["test_acc"] == result.test_acc
    # the schedule spans the configured 3 epochs, not rescaled to the limit
    assert result.metrics[1]["lr"] == pytest.approx(learning_rate(recipe.train, 1))


def test_max_steps_run_interrupted_then_resumed_gives_the_uninterrupted_weights(
    data_root, tmp_path, monkeypatch
):
    recipe = load_train_recipe(None, tiny(data_root, "train.epochs=3", "train.max_steps=9"))
    full = train("darts_v2", recipe, out=tmp_path / "full", device="cpu")
    original = Trainer.train_step

    def step_then_sigterm(self, x, y):
        result = original(self, x, y)
        if self.epoch == 1 and self.step == 0:  # the 1st step of the 2nd epoch
            os.kill(os.getpid(), signal.SIGTERM)
        return result

    monkeypatch.setattr(Trainer, "train_step", step_then_sigterm)
    out = tmp_path / "resumed"
    with pytest.raises(Interrupted):
        train("darts_v2", recipe, out=out, device="cpu")
    monkeypatch.setattr(Trainer, "train_step", original)
    resumed = train("darts_v2", recipe, out=out, device="cpu", resume=True)
    _weights_equal(resumed.model, full.model)
    assert resumed.test_acc == full.test_acc


def test_subset_per_class_trains_on_that_fraction_of_each_class(data_root, tmp_path):
    from factorspace.data.datasets import Split
    from factorspace.data.splits import training_indices

    recipe = load_train_recipe(None, tiny(data_root, "train.epochs=1", "data.subset_per_class=0.5"))
    trainer = Trainer(get_genotype("darts_v2"), recipe, tmp_path, torch.device("cpu"), console=None)
    images = trainer.data.train.dataset
    assert len(images) == 50 and torch.bincount(images.targets).tolist() == [5] * 10
    assert trainer.steps_per_epoch == 4  # ceil(50 / 16)
    split = Split(torch.tensor([0, 0, 0, 0, 1, 1]), ["a", "b"], "six labels")
    config = recipe.data.model_copy(update={"subset_per_class": 0.5})
    kept = training_indices(split, config, seed=3)
    assert kept == training_indices(split, config, seed=3) and len(kept) == 3
    assert sorted(split.labels[kept].tolist()) == [0, 0, 1]
    assert training_indices(split, config.model_copy(update={"subset_per_class": None}), 3) == [
        0, 1, 2, 3, 4, 5
    ]  # fmt: skip


def test_the_max_steps_option_sets_train_max_steps(data_root, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from factorspace.cli import app

    sets = [x for s in tiny(data_root, "train.epochs=1") for x in ("--set", s)]
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["train", "darts_v2", *sets, "--max-steps", "2", "--out", str(out), "--device", "cpu"],
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((out / "recipe.yaml").read_text())["train"]["max_steps"] == 2
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    # 100 images, batch 16: 7 steps an epoch; the progress runs to the limit and the end says so
    for text in (result.output, (out / "run.log").read_text()):
        assert "epoch 1/1 (max_steps 2)  step 1/2 (of 7)  loss " in text
        assert "stopped at max_steps 2 (in epoch 1 of 1;" in text
