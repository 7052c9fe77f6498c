"""`factorspace import-darts`, and DARTS strings and files wherever a genotype is taken."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.genotype import from_darts_string, load_genotype
from tests.conftest import ROOT
from tests.genotype.strings import DARTS_V2, PC_DARTS_CIFAR

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_message(result, message: str) -> None:
    """Exit 2 with ``error: message`` and nothing else: no traceback, no usage."""
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith(f"error: {message}"), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_import_darts_writes_the_genotype_file(tmp_path):
    out = tmp_path / "g.json"
    result = invoke("import-darts", DARTS_V2, "-o", out, "--name", "v2")
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}\n"
    assert load_genotype(out, registered=True) == from_darts_string(DARTS_V2, name="v2")


def test_import_darts_checks_the_genotype_against_a_recipe(tmp_path):
    out = tmp_path / "g.json"
    ok = invoke("import-darts", DARTS_V2, "-o", out, "--recipe", ROOT / "recipes/adarts_cifar.yaml")
    assert ok.exit_code == 0, ok.output
    recipe = ROOT / "recipes" / "conv3_cifar.yaml"  # its operators are conv families
    bad = invoke("import-darts", DARTS_V2, "-o", tmp_path / "bad.json", "--recipe", recipe)
    assert_one_message(bad, f"{recipe}: normal.edges[0].op: 'sep_conv_3x3' is not a choice")
    assert not (tmp_path / "bad.json").exists()


def test_import_darts_from_a_genotypes_py(tmp_path):
    source = tmp_path / "genotypes.py"
    source.write_text(f"V2 = {DARTS_V2}\nPC = {PC_DARTS_CIFAR}\n")
    result = invoke("import-darts", f"{source}:PC", "-o", tmp_path / "pc.json")
    assert result.exit_code == 0, result.output
    g = load_genotype(tmp_path / "pc.json")
    assert (g.name, g.normal) == ("PC", from_darts_string(PC_DARTS_CIFAR).normal)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Genotype(normal=[('sep_conv_3x3', 0)", "not a DARTS genotype string: '[' was never"),
        ("Genotype(normal=[], reduce=[])", "not a DARTS genotype string: expected the fields"),
        (DARTS_V2.replace("dil_conv_3x3", "dil_conv_9x9"), "normal[7]: unknown operator"),
        ("__import__('os').system('echo hacked')", "not a DARTS genotype string: expected a call"),
        ("missing.py", "no file missing.py"),
    ],
)
def test_import_darts_refuses_bad_input_in_one_message(tmp_path, text, message):
    result = invoke("import-darts", text, "-o", tmp_path / "g.json")
    assert_one_message(result, message)
    assert "hacked" not in result.output


def test_render_info_and_train_take_a_darts_string(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    drawn = invoke("render", DARTS_V2, "--format", "gv")
    assert drawn.exit_code == 0, drawn.output
    assert sorted(p.name for p in tmp_path.glob("*.gv")) == [
        "darts_string_cells_normal.gv",
        "darts_string_cells_reduce.gv",
    ]
    info = invoke("info", DARTS_V2, "--json")
    assert info.exit_code == 0, info.output
    assert (
        json.loads(info.output)["parameters"]
        == json.loads(invoke("info", "darts_v2", "--json").output)["parameters"]
    )


def test_info_takes_a_named_genotype_of_a_genotypes_py(tmp_path):
    source = tmp_path / "genotypes.py"
    source.write_text(f"V2 = {DARTS_V2}\nDARTS = V2\nPC = {PC_DARTS_CIFAR}\n")
    result = invoke("info", f"{source}:DARTS", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["genotype"] == "DARTS"
    several = invoke("info", source)
    assert_one_message(several, f"{source}: 2 genotypes here; pick one as {source}:NAME (V2, PC)")


def test_a_darts_string_that_does_not_parse_is_one_message_everywhere():
    bad = "Genotype(normal=[('sep_conv_3x3', 0)"
    for command in ("render", "info", "train", "export"):
        extra = ["--format", "source", "-o", "x.py"] if command == "export" else []
        result = invoke(command, bad, *extra)
        assert_one_message(result, "not a DARTS genotype string: '[' was never closed")


def test_a_name_too_long_for_a_file_is_one_message():
    result = invoke("render", "g" * 5000)
    assert_one_message(result, "'" + "g" * 58 + "…" + "g" * 19 + "'")
    assert "(a name too long for a file)" in result.output


def test_train_and_export_take_a_darts_string_longer_than_a_file_name(tmp_path):
    assert len(DARTS_V2) > 255  # no file system takes it as a name: Path.is_dir() raises
    exported = invoke("export", DARTS_V2, "--format", "source", "-o", tmp_path / "net.py")
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "net.py").is_file()
    typo = DARTS_V2.replace("dil_conv_3x3", "dil_conv_9x9")
    assert_one_message(invoke("train", typo), "normal[7]: unknown operator 'dil_conv_9x9'")
    for command in ("train", "export", "info"):
        extra = ["--format", "source", "-o", tmp_path / "x.py"] if command == "export" else []
        result = invoke(command, "y" * 300, *extra)
        assert_one_message(result, "'" + "y" * 58 + "…" + "y" * 19 + "'")
        assert "(a name too long for a file)" in result.output
