"""`factorspace train` on a `search --seeds` parent: one re-training per run, mean ± std."""

import json
import statistics

import torch
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.genotype import save_genotype
from factorspace.genotype.zoo import get_genotype
from tests.conftest import ROOT
from tests.retrain.test_train import mini_imagefolder, tiny


def test_each_seed_is_retrained_and_summarised(tmp_path):
    parent = tmp_path / "seeds"
    for run, name in (("seed_0", "darts_v1"), ("seed_1", "darts_v2")):
        (parent / run).mkdir(parents=True)
        save_genotype(get_genotype(name), parent / run / "genotype.json")
    (parent / "summary.json").write_text("{}")
    data = mini_imagefolder(tmp_path / "mini")
    args = ["train", str(parent), "--recipe", str(ROOT / "recipes" / "train_cifar.yaml")]
    for o in tiny(data, "train.epochs=1"):
        args += ["--set", o]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = CliRunner().invoke(app, [*args, "--device", "cpu"])
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    out = parent / "retrain"
    summary = json.loads((out / "summary.json").read_text())
    assert [r["run"] for r in summary["runs"]] == ["seed_0", "seed_1"]
    accs = [r["test_acc"] for r in summary["runs"]]
    for r in summary["runs"]:
        run = json.loads((out / r["run"] / "run.json").read_text())
        assert run["status"] == "complete" and run["test_acc"] == r["test_acc"]
    assert summary["test_acc_mean"] == statistics.fmean(accs)
    assert summary["test_acc_std"] == statistics.stdev(accs)
    assert "over 2 runs" in result.output
    assert (out / "summary.csv").read_text().splitlines()[0] == "run,test_acc,test_top5"


def test_one_run_is_summarised_without_a_standard_deviation():
    from factorspace.retrain.multiseed import format_summary

    summary = {"runs": [{"run": "seed_0"}], "test_acc_mean": 0.9, "test_acc_std": None}
    assert format_summary(summary) == "test top-1 90.00 % over 1 run"
    summary = {"runs": [{}, {}], "test_acc_mean": 0.9, "test_acc_std": 0.01}
    assert format_summary(summary) == "test top-1 90.00 ± 1.00 % over 2 runs"
