"""scripts/gpu_check.sh: valid bash and Python, and a clear refusal where there is no CUDA."""

from __future__ import annotations

import os
import subprocess

import pytest
import torch

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts/gpu_check.sh"


def test_the_script_parses_as_bash_and_its_python_compiles():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    text = SCRIPT.read_text()
    python = text.split("<<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    compile(python, "gpu_check.sh (report)", "exec")
    assert os.access(SCRIPT, os.X_OK)


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the check would run")
def test_without_cuda_it_stops_at_once_and_writes_nothing(tmp_path):
    out = tmp_path / "gpu_check.json"
    done = subprocess.run(
        [str(SCRIPT), str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3
    assert "no CUDA device here" in done.stderr and not out.exists()


def test_its_nb201_part_names_recipes_and_options_that_exist():
    """The NB201 part (bench of recipes/nb201_darts.yaml, then scripts/ab_nb201.py) cannot be run
    here; check that what it calls exists, so that a rename fails here and not on the GPU."""
    import importlib.util
    import re
    import shlex
    import sys

    text = SCRIPT.read_text().replace("\\\n", " ")
    for recipe in re.findall(r"recipes/\S+\.yaml", text):
        assert (ROOT / recipe).is_file(), recipe
    (command,) = re.findall(r"scripts/ab_nb201\.py ([^>|]*)", text)
    spec = importlib.util.spec_from_file_location("ab_nb201_args", ROOT / "scripts/ab_nb201.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        args = module.parse_args(shlex.split(command))
    finally:
        del sys.modules[spec.name]
    assert args.device == "cuda" and args.json
