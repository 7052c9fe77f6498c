"""`search --resume RUN` and `train --resume RUN`: the recipe and --set values come from the run
directory; different ones are refused with each difference shown; every hint is a whole command."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.cli.search import search_to_resume
from factorspace.genotype import save_genotype
from factorspace.genotype.zoo import get_genotype
from factorspace.retrain import load_train_recipe
from factorspace.run.rundir import RunDir
from tests.search.tiny import TINY, tiny_recipe


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def fake_search_run(root, *overrides: str, checkpoint: bool = True):
    """A search run directory as a search leaves it (recipe.yaml, run.json, a checkpoint)."""
    paths = RunDir(root)
    root.mkdir(parents=True)
    recipe = tiny_recipe(*overrides).model_dump(mode="json")
    paths.recipe.write_text(yaml.safe_dump(recipe, sort_keys=False))
    paths.record.write_text(json.dumps({"status": "interrupted"}))
    if checkpoint:
        paths.checkpoint.parent.mkdir()
        paths.checkpoint.write_bytes(b"whatever")
    return root


@pytest.mark.parametrize(
    ("args", "difference"),
    [
        (["--set", "search.epochs=3"], "search.epochs: recorded 2, given 3"),
        (["--seed", "5"], "search.seed: recorded 0, given 5"),
    ],
)
def test_search_resume_with_other_values_is_refused_showing_them(tmp_path, args, difference):
    run = fake_search_run(tmp_path / "run")
    for form in (["--resume", run], [TINY, "--out", run, "--resume"]):
        result = invoke("search", *form, *args, "--device", "cpu")
        assert result.exit_code == 2, result.output
        message = result.stderr
        assert message.startswith(f"error: {RunDir(run).recipe}: ")
        assert difference in message
        assert f"continue it as it was with: factorspace search --resume {run}" in message


def test_search_resume_hints_are_whole_commands(tmp_path):
    run = fake_search_run(tmp_path / "my run")
    quoted = shlex.quote(str(run))
    cases = [
        (
            ["search", "--resume"],
            "--resume needs the run directory to continue: factorspace search --resume RUN",
        ),
        (["search", TINY, "--out", run], f"continue it with: factorspace search --resume {quoted}"),
        (
            ["search", "--resume", run, "--out", tmp_path / "other"],
            f"continue one with: factorspace search --resume {quoted}",
        ),
        (["search"], "give a recipe: factorspace search RECIPE"),
        (["train", "--resume", run], f"continue it with: factorspace search --resume {quoted}"),
    ]
    for args, says in cases:
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert says in result.stderr, result.stderr


def test_resume_of_a_seeds_parent_reads_its_seeds_and_first_recipe(tmp_path):
    for seed in (2, 0):
        fake_search_run(tmp_path / f"seed_{seed}", f"search.seed={seed}")
    recipe, run_dir, seeds = search_to_resume(tmp_path, None, None)
    assert (recipe, run_dir, seeds) == (tmp_path / "seed_0" / "recipe.yaml", tmp_path, "0,2")
    assert search_to_resume(tmp_path, None, "2")[2] == "2"  # --seeds given: kept


def test_resume_of_a_directory_that_is_no_run_says_so(tmp_path):
    result = invoke("search", "--resume", tmp_path)
    assert result.exit_code == 2
    assert "not a run directory (no run.json) nor a --seeds parent" in result.stderr


def fake_train_run(root, *overrides: str):
    paths = RunDir(root)
    root.mkdir(parents=True)
    recipe = load_train_recipe(None, ["train.epochs=1", *overrides]).model_dump(mode="json")
    paths.recipe.write_text(yaml.safe_dump(recipe, sort_keys=False))
    paths.record.write_text(json.dumps({"status": "interrupted"}))
    save_genotype(get_genotype("darts_v2"), paths.genotype)
    return root


def test_train_resume_reads_the_run_directory_and_refuses_other_values(tmp_path):
    run = fake_train_run(tmp_path / "train")
    result = invoke("train", "--resume", run, "--set", "train.epochs=2", "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert f"error: {RunDir(run).recipe}: train.epochs: " in result.stderr
    assert "train.epochs: recorded 1, given 2" in result.stderr
    assert f"factorspace train --resume {run}" in result.stderr
    search_run = invoke("search", "--resume", run)
    assert f"a training run, not a search; continue it with: factorspace train --resume {run}" in (
        search_run.stderr
    )


def test_an_interrupted_seed_run_hints_the_parents_resume(tmp_path):
    from factorspace.cli.search import seeds_hint
    from factorspace.errors import Interrupted
    from factorspace.run.stopping import resume_command

    parent = tmp_path / "my seeds"
    with pytest.raises(Interrupted) as e, seeds_hint():
        raise Interrupted(
            f"at epoch 1; Continue with: {resume_command('search', parent / 'seed_1')}"
        )
    assert (
        str(e.value)
        == f"at epoch 1; Continue with: factorspace search --resume {shlex.quote(str(parent))}"
    )


def test_a_run_directory_given_as_the_recipe_hints_its_resume(tmp_path):
    run = fake_search_run(tmp_path / "run")
    fake_search_run(tmp_path / "seeds" / "seed_0")
    for given in (run, tmp_path / "seeds"):
        result = invoke("search", given)
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            f"error: {given}: a run directory, not a recipe; continue it with: "
            f"factorspace search --resume {given}"
        )


def test_an_interrupted_seed_retraining_hints_the_whole_command():
    from factorspace.cli.train import hint_on_interrupt
    from factorspace.errors import Interrupted

    command = "factorspace train runs/s --set train.epochs=2 --out runs/s/retrain --resume"
    with pytest.raises(Interrupted) as e, hint_on_interrupt(command):
        raise Interrupted("at epoch 1; Continue with: factorspace train --resume runs/s/retrain/a")
    assert str(e.value) == f"at epoch 1; Continue with: {command}"


def _recorded_without(run, *fields):
    """Make ``run``'s recipe.yaml as a run recorded before these supernet fields existed."""
    path = RunDir(run).recipe
    recorded = yaml.safe_load(path.read_text())
    for field in fields:
        del recorded["supernet"][field]
    path.write_text(yaml.safe_dump(recorded, sort_keys=False))


def _recorded_without_fused_activation(run):
    """As a run recorded before supernet.fused_activation (and rrelu_noise) existed."""
    _recorded_without(run, "fused_activation", "rrelu_noise")


def test_a_run_recorded_without_fused_activation_resumes_with_it_off(tmp_path):
    from factorspace.cli.search import ran_with
    from factorspace.loader import load_recipe
    from factorspace.run.resume import check_recorded_recipe

    run = fake_search_run(tmp_path / "run")
    _recorded_without_fused_activation(run)
    assert ran_with(RunDir(run).recipe) == [
        "supernet.fused_activation=false",
        'supernet.rrelu_noise="torch"',
    ]
    resumed = load_recipe(RunDir(run).recipe, ran_with(RunDir(run).recipe))
    assert resumed.supernet.fused_activation is False
    assert resumed.supernet.rrelu_noise == "torch"
    check_recorded_recipe(run, resumed.model_dump(mode="json"))  # the search's own check passes
    # --resume RUN: only the --set difference is refused, not the missing field
    result = invoke("search", "--resume", run, "--set", "search.epochs=3", "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert "search.epochs: recorded 2, given 3" in result.stderr
    assert "fused_activation" not in result.stderr
    # the recipe file (the new default, on) is another recipe than the one the run ran with
    result = invoke("search", TINY, "--out", run, "--resume", "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert "supernet.fused_activation: recorded False, given True" in result.stderr


def test_a_run_recorded_before_hashed_rrelu_noise_resumes_with_torchs_draws(tmp_path):
    from factorspace.cli.search import ran_with
    from factorspace.loader import load_recipe

    run = fake_search_run(tmp_path / "run")
    _recorded_without(run, "rrelu_noise")
    assert ran_with(RunDir(run).recipe) == ['supernet.rrelu_noise="torch"']
    resumed = load_recipe(RunDir(run).recipe, ran_with(RunDir(run).recipe))
    assert resumed.supernet.fused_activation is True
    assert resumed.supernet.rrelu_noise == "torch"
    result = invoke("search", TINY, "--out", run, "--resume", "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert "supernet.rrelu_noise: recorded 'torch', given 'hashed'" in result.stderr


def test_a_run_recording_fused_activation_resumes_with_its_value(tmp_path):
    from factorspace.cli.search import ran_with

    for value in ("true", "false"):
        run = fake_search_run(tmp_path / value, f"supernet.fused_activation={value}")
        assert ran_with(RunDir(run).recipe) == []
        assert yaml.safe_load(RunDir(run).recipe.read_text())["supernet"]["fused_activation"] is (
            value == "true"
        )
