"""`factorspace train`, `eval`, `info` and `export` through the command line, at a tiny size."""

from __future__ import annotations

import importlib.util
import json
import re
import textwrap

import pytest
import torch
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.retrain import load_trained
from tests.conftest import ROOT
from tests.retrain.test_train import mini_imagefolder, one_thread, tiny  # noqa: F401

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = mini_imagefolder(tmp_path_factory.mktemp("mini"))
    out = tmp_path_factory.mktemp("cli") / "run"
    sets = [x for s in tiny(root, "train.epochs=1") for x in ("--set", s)]
    result = invoke(
        "train", "darts_v2", "--recipe", ROOT / "recipes" / "train_cifar.yaml", *sets,
        "--out", out, "--device", "cpu",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "test top-1" in result.output and str(out) in result.output
    return out


def test_train_leaves_one_epoch_and_its_checkpoint(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"
    assert (run_dir / "checkpoints" / "last.pt").is_file()


def test_eval_reproduces_the_last_epochs_test_metrics(run_dir):
    result = invoke("eval", run_dir / "checkpoints" / "last.pt", "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert 0 <= got["top1"] <= got["top5"] <= 1 and got["images"] == 50
    assert (got["top1"], got["top5"]) == (last["test_acc"], last["test_top5"])
    assert got["loss"] == pytest.approx(last["test_loss"], abs=1e-5)
    table = invoke("eval", run_dir, "--device", "cpu")  # a run directory: its last checkpoint
    assert table.exit_code == 0 and f"top-1 {100 * got['top1']:.2f}%" in table.output


def test_eval_reads_the_data_where_it_is_now(run_dir, tmp_path):
    result = invoke("eval", run_dir, "--device", "cpu", "--data-root", tmp_path / "moved")
    assert result.exit_code == 2 and "moved does not exist" in result.output


def test_info_json_reports_the_darts_figures():
    result = invoke("info", "darts_v2", "--dataset", "cifar10", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["parameters"] == 3_349_342  # DARTS (2nd order): 3.3M
    assert info["parameters_with_auxiliary"] > info["parameters"] and info["resolution"] == 32
    table = invoke("info", "darts_v2", "--dataset", "cifar10")
    assert table.exit_code == 0 and "3,349,342" in table.output


@pytest.mark.parametrize("where", ["run", "checkpoint"])
def test_info_of_a_trained_run_or_checkpoint_reports_the_network_it_trained(run_dir, where):
    path = run_dir if where == "run" else run_dir / "checkpoints" / "last.pt"
    result = invoke("info", path, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    model = load_trained(run_dir).model  # tiny(): 8 channels, 5 cells, the auxiliary tower
    head = sum(p.numel() for p in model.auxiliary_head.parameters())
    assert (info["channels"], info["cells"], info["resolution"]) == (8, 5, 32)
    assert info["parameters"] == sum(p.numel() for p in model.parameters()) - head
    assert info["parameters_with_auxiliary"] == info["parameters"] + head
    assert info["network_from"] == str(run_dir / "recipe.yaml" if where == "run" else path)
    table = invoke("info", path, "--cells", "8")  # a what-if on the trained network
    assert table.exit_code == 0 and "8 channels, 8 cells, " in table.output
    assert "resized as given" in " ".join(re.sub("[│┌┐└┘─┬┴]", " ", table.output).split())
    refused = invoke("info", path, "--dataset", "imagenet")
    assert refused.exit_code == 2 and "was trained on cifar10" in refused.output


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_export_torchscript_from_a_checkpoint_gives_the_trained_logits(run_dir, tmp_path):
    path = tmp_path / "model.ts"
    result = invoke("export", run_dir, "--format", "torchscript", "-o", path)
    assert result.exit_code == 0, result.output
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = load_trained(run_dir).model(images)
        torch.testing.assert_close(torch.jit.load(str(path))(images), expected)


def test_export_source_from_a_checkpoint_writes_code_and_weights(run_dir, tmp_path):
    path = tmp_path / "net.py"
    result = invoke("export", run_dir / "checkpoints" / "last.pt", "--format", "source", "-o", path)
    assert result.exit_code == 0, result.output
    spec = importlib.util.spec_from_file_location("exported_net", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build()
    model.load_state_dict(torch.load(path.with_suffix(".pt")))
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(images), load_trained(run_dir).model(images))


@pytest.mark.parametrize("suffix", [".pt2", ".onnx"])
def test_export_graph_from_a_checkpoint_gives_the_trained_logits(run_dir, tmp_path, suffix):
    if suffix == ".onnx":
        ort = pytest.importorskip("onnxruntime")
        pytest.importorskip("onnxscript")
    path = tmp_path / f"model{suffix}"
    result = invoke("export", run_dir, "-o", path)  # the format from the suffix
    assert result.exit_code == 0, result.output
    assert f"wrote {path}" in result.output and "any batch size" in result.output
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected = load_trained(run_dir).model(images)
    if suffix == ".pt2":
        got = torch.export.load(str(path)).module()(images)
    else:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = torch.from_numpy(session.run(None, {"images": images.numpy()})[0])
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_export_without_format_needs_a_known_suffix(tmp_path):
    result = invoke("export", "darts_v2", "-o", tmp_path / "model.bin")
    assert result.exit_code == 2
    assert "give --format (pt2, onnx, source or torchscript) or a file ending in" in result.output
    assert not (tmp_path / "model.bin").exists()


def test_export_source_of_a_zoo_genotype(tmp_path):
    result = invoke("export", "pc_darts_cifar", "--format", "source", "-o", tmp_path / "pc.py")
    assert result.exit_code == 0, result.output
    assert "def build(" in (tmp_path / "pc.py").read_text()


def _bad_recipe(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        textwrap.dedent("""\
        name: bad
        train:
          epochs: 2
          momentun: 0.9
        """)
    )
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "darts_v3"], "'darts_v3' is no genotype file, run directory or zoo genotype"),
        (["train", "darts_v2", "--recipe", "BAD"], "bad.yaml:4: train.momentun: "),
        (["train", "darts_v2", "--set", "train.epochs=0"], "train.epochs: Input should be"),
        (["train", "darts_v2", "--resume"], "--resume needs --out RUN_DIR"),
        (["info", "nasnett"], "did you mean 'nasnet'"),
        (["eval", "missing.pt"], "missing.pt: no such checkpoint"),
        (["export", "darts_v2", "--format", "source", "-o", "OUT", "--dataset", "imagenet"], None),
    ],
)
def test_bad_input_exits_2_with_one_message(tmp_path, args, message):
    args = [str(_bad_recipe(tmp_path)) if a == "BAD" else a for a in args]
    args = [str(tmp_path / "out.py") if a == "OUT" else a for a in args]
    result = invoke(*args)
    if message is None:  # the control: a good export
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")
    assert "Traceback" not in result.output


def test_eval_refuses_a_file_that_is_no_training_checkpoint(tmp_path):
    torch.save({"model": {}}, tmp_path / "other.pt")
    result = invoke("eval", tmp_path / "other.pt")
    assert result.exit_code == 2 and "not a checkpoint of `factorspace train`" in result.output
