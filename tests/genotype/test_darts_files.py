"""DARTS genotypes given as a string, a genotypes.py, a .txt or a search log: read, never run."""

from __future__ import annotations

import pytest

import factorspace as fs
from factorspace.genotype import from_darts_string, read_darts_file, resolve_genotype
from factorspace.genotype.darts_files import darts_file_reference, looks_like_darts_string
from factorspace.genotype.zoo import DARTS_STRING
from tests.genotype.strings import DARTS_V2, PC_DARTS_CIFAR, PC_DARTS_IMAGE

# The layout of quark0/darts cnn/genotypes.py: a namedtuple, constants, an alias.
GENOTYPES_PY = f"""from collections import namedtuple

Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')

PRIMITIVES = ['none', 'max_pool_3x3']

DARTS_V2 = {DARTS_V2}
PC_DARTS_cifar = {PC_DARTS_CIFAR}

DARTS = DARTS_V2
"""


@pytest.fixture
def genotypes_py(tmp_path):
    path = tmp_path / "genotypes.py"
    path.write_text(GENOTYPES_PY)
    return path


def test_a_named_genotype_and_an_alias(genotypes_py):
    g = read_darts_file(genotypes_py, "PC_DARTS_cifar")
    assert g == from_darts_string(PC_DARTS_CIFAR, name="PC_DARTS_cifar", source=g.source)
    assert g.source == f"{genotypes_py}:PC_DARTS_cifar"
    assert read_darts_file(genotypes_py, "DARTS").normal == from_darts_string(DARTS_V2).normal


def test_the_only_genotype_needs_no_name(tmp_path):
    path = tmp_path / "best.py"
    path.write_text(f"best = {PC_DARTS_IMAGE}\n")
    g = read_darts_file(path)
    assert (g.name, g.normal) == ("best", from_darts_string(PC_DARTS_IMAGE).normal)


def test_several_genotypes_need_a_name(genotypes_py):
    with pytest.raises(fs.FactorspaceError) as e:
        read_darts_file(genotypes_py)
    assert str(e.value) == (
        f"{genotypes_py}: 2 genotypes here; pick one as {genotypes_py}:NAME "
        "(DARTS_V2, PC_DARTS_cifar)"
    )


def test_an_unknown_name_lists_the_names(genotypes_py):
    with pytest.raises(
        fs.FactorspaceError, match=r"no genotype named 'V3'; named here: DARTS_V2, "
    ):
        read_darts_file(genotypes_py, "V3")


def test_a_search_log_is_scanned_and_indexed(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text(
        f"12/01 10:00:01 epoch 0 lr 2.5e-02\n12/01 10:00:02 genotype = {DARTS_V2}\n"
        f"12/01 11:00:00 genotype = {PC_DARTS_CIFAR}\n12/01 11:00:01 train_acc 41.0\n"
    )
    assert read_darts_file(log, "-1").normal == from_darts_string(PC_DARTS_CIFAR).normal
    assert read_darts_file(log, "1").normal == from_darts_string(DARTS_V2).normal
    with pytest.raises(fs.FactorspaceError, match="no genotype 3: there are 2"):
        read_darts_file(log, "3")
    with pytest.raises(
        fs.FactorspaceError, match=r"2 genotypes here; pick one as .*:NAME \(1..2\)"
    ):
        read_darts_file(log)


def test_a_file_is_read_never_run(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "genotypes.py"
    path.write_text(f"open({str(marker)!r}, 'w')\nG = {DARTS_V2}\n")
    assert read_darts_file(path).name == "G" and not marker.exists()


def test_a_file_without_a_genotype(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("nothing here\n")
    with pytest.raises(fs.FactorspaceError, match=r"empty.txt: no DARTS `Genotype\(...\)` in"):
        read_darts_file(path)


def test_a_bad_genotype_in_a_file_names_the_file_and_the_name(tmp_path):
    path = tmp_path / "genotypes.py"
    path.write_text("G = Genotype(normal=[('sep_conv_9x9', 0)], normal_concat=[2])\n")
    with pytest.raises(fs.FactorspaceError) as e:
        read_darts_file(path)
    assert str(e.value).startswith(f"{path}: G: not a DARTS genotype string: expected the fields")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (DARTS_V2, True),
        (f"DARTS_V2 = {DARTS_V2}", True),
        (f"genotypes.{DARTS_V2}", True),
        ("genotypes.py", False),
        ("darts_v2", False),
        ("runs/x/genotype.json", False),
    ],
)
def test_what_looks_like_a_darts_string(text, expected):
    assert looks_like_darts_string(text) is expected


def test_file_references(genotypes_py):
    assert darts_file_reference(str(genotypes_py)) == (genotypes_py, None)
    assert darts_file_reference(f"{genotypes_py}:DARTS") == (genotypes_py, "DARTS")
    assert darts_file_reference(f"{genotypes_py.with_name('absent.py')}:DARTS") is None
    assert darts_file_reference(DARTS_V2) is None


def test_resolve_takes_a_string_a_file_and_a_named_genotype(genotypes_py):
    g = resolve_genotype(DARTS_V2, registered=True)
    assert g == from_darts_string(DARTS_V2, name=DARTS_STRING)
    assert resolve_genotype(f"{genotypes_py}:DARTS_V2").normal == g.normal
    assert resolve_genotype(f"{genotypes_py}:PC_DARTS_cifar").name == "PC_DARTS_cifar"


def test_resolve_a_name_too_long_for_a_file_is_one_message():
    with pytest.raises(fs.FactorspaceError) as e:
        resolve_genotype("x" * 5000)
    assert "is no genotype file, run directory or zoo genotype (a name too long for a file)" in (
        str(e.value)
    )
    assert len(str(e.value)) < 400  # the argument is shown shortened


def test_resolve_a_bad_darts_string():
    with pytest.raises(fs.FactorspaceError, match="not a DARTS genotype string: '.' was never"):
        resolve_genotype("Genotype(normal=[('sep_conv_3x3', 0)")
