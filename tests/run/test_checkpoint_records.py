"""A checkpoint keeps the run's record files it depends on; a resume puts back what changed."""

from __future__ import annotations

import warnings

import pytest
import torch

from factorspace.errors import FactorspaceError
from factorspace.run.atomic import dump_yaml
from factorspace.run.checkpoint import (
    checkpoint_records,
    load_checkpoint,
    restore_records,
    save_checkpoint,
)
from factorspace.run.resume import RecordsRestored, check_resumable
from factorspace.run.rundir import RunDir

ARCH_1 = b'{"epoch": 1, "weights": [0.5, 0.5]}'
GENOTYPE_1 = b'{"format": "factorspace.genotype", "normal": "\xc3\xa9"}'  # any bytes


@pytest.fixture
def run_dir(tmp_path):
    """A run directory after one epoch: its records, a recipe and a checkpoint."""
    paths = RunDir(tmp_path / "run")
    paths.arch(1).parent.mkdir(parents=True)
    paths.arch(1).write_bytes(ARCH_1)
    paths.epoch_genotype(1).parent.mkdir()
    paths.epoch_genotype(1).write_bytes(GENOTYPE_1)
    dump_yaml(paths.recipe, {"search": {"epochs": 2}})
    save_checkpoint(paths.checkpoint, {"epoch": 1, "w": torch.arange(3.0)})
    return paths


def test_the_checkpoint_keeps_the_records_present_at_its_save(run_dir):
    assert checkpoint_records(run_dir.checkpoint) == {
        "arch/epoch_001.json": ARCH_1,
        "genotypes/epoch_001.json": GENOTYPE_1,
        "recipe.yaml": run_dir.recipe.read_bytes(),
    }
    state = load_checkpoint(run_dir.checkpoint)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.arange(3.0))


def test_records_that_agree_are_left_alone(run_dir):
    assert restore_records(run_dir.root, run_dir.checkpoint) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_resumable(run_dir.root, {"search": {"epochs": 2}})


def test_a_missing_or_changed_record_is_rewritten_and_said(run_dir):
    run_dir.arch(1).unlink()
    run_dir.epoch_genotype(1).write_bytes(b"{}")
    run_dir.arch(2).write_bytes(b"{}")  # written after the checkpoint: not its to judge
    with pytest.warns(RecordsRestored) as said:
        check_resumable(run_dir.root, {"search": {"epochs": 2}})
    assert [str(w.message) for w in said] == [
        f"{run_dir.arch(1)}: missing; rewritten from the checkpoint {run_dir.checkpoint}",
        f"{run_dir.epoch_genotype(1)}: differs from the checkpoint's copy; rewritten from the "
        f"checkpoint {run_dir.checkpoint}",
    ]
    assert run_dir.arch(1).read_bytes() == ARCH_1
    assert run_dir.epoch_genotype(1).read_bytes() == GENOTYPE_1
    assert run_dir.arch(2).read_bytes() == b"{}"


def test_another_recipe_is_refused_before_any_record_is_touched(run_dir):
    run_dir.arch(1).unlink()
    with pytest.raises(FactorspaceError, match=r"search.epochs: this run was made by another"):
        check_resumable(run_dir.root, {"search": {"epochs": 3}})
    assert not run_dir.arch(1).exists()


def test_an_edit_of_the_kept_records_fails_the_checksum(run_dir):
    data = bytearray(run_dir.checkpoint.read_bytes())
    at = data.index(b"records ") + len(b"records 1\n") + 5  # inside the compressed records
    data[at] ^= 0x01
    run_dir.checkpoint.write_bytes(bytes(data))
    for read in (load_checkpoint, checkpoint_records):
        with pytest.raises(FactorspaceError, match="checksum mismatch"):
            read(run_dir.checkpoint)


def test_old_checkpoints_without_records_resume_unchecked(tmp_path):
    """Written before records were kept: the header and torch.save's bytes only."""
    paths = RunDir(tmp_path / "run")
    save_checkpoint(paths.checkpoint, {"epoch": 1})  # no record files in the run: no block
    assert not paths.checkpoint.read_bytes().split(b"\n", 1)[1].startswith(b"records")
    assert checkpoint_records(paths.checkpoint) is None
    paths.checkpoint.write_bytes(b"")
    torch.save({"epoch": 1}, paths.checkpoint)  # and before checksums
    assert checkpoint_records(paths.checkpoint) is None
    assert restore_records(paths.root, paths.checkpoint) == []


def test_a_checkpoint_outside_a_run_directory_keeps_no_records(tmp_path):
    (tmp_path / "genotype.json").write_text("{}")
    save_checkpoint(tmp_path / "model.pt", {"epoch": 1})
    assert checkpoint_records(tmp_path / "model.pt") is None


def test_a_record_that_cannot_be_written_back_refuses_the_resume(run_dir):
    run_dir.arch(1).unlink()
    run_dir.arch(1).mkdir()  # a directory where the file was
    with pytest.raises(FactorspaceError) as info:
        restore_records(run_dir.root, run_dir.checkpoint)
    assert str(info.value).startswith(f"{run_dir.arch(1)}: unreadable (")
    assert "cannot be rewritten from the checkpoint" in str(info.value)
    assert str(info.value).endswith("; cannot --resume")


def test_an_edited_recipe_yaml_is_refused_showing_the_fields(run_dir):
    """`--resume RUN` reads RUN/recipe.yaml: an edit would pass the same-recipe check, and the
    run would go on as its checkpoint says (issue 26: epochs 2 -> 3 was accepted)."""
    dump_yaml(run_dir.recipe, {"search": {"epochs": 3}, "limits": {"memory": "1 GiB"}})
    with pytest.raises(FactorspaceError) as e:
        check_resumable(run_dir.root, {"search": {"epochs": 3}})
    assert str(e.value) == (
        f"{run_dir.recipe}: search.epochs: edited after the run started (differs from the copy "
        "its checkpoint keeps in: search.epochs); --resume continues the run as it was "
        "recorded: undo the edit, or start a new run with the edited recipe"
    )
    dump_yaml(run_dir.recipe, {"search": {"epochs": 2}, "limits": {"memory": "1 GiB"}})
    check_resumable(run_dir.root, {"search": {"epochs": 2}})  # `limits` may change
    assert run_dir.recipe.read_text().endswith("memory: 1 GiB\n")  # and is not rewritten
