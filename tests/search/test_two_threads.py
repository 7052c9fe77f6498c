"""A tiny supernet searched with two threads: the layout that avoids a oneDNN heap fault.

torch 2.14.1's channels_last convolution backward aborted a 4-channel search with two threads
on the project's AVX-512 CPU ("double free or corruption"); the search keeps such small CPU
supernets contiguous (``factorspace.run.device.supernet_memory_format``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from factorspace.run.device import CPU_CHANNELS_LAST_MIN, supernet_memory_format
from tests.search.tiny import ROOT, TINY, tiny_recipe

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_small_cpu_supernets_stay_contiguous_and_the_rest_follow_the_recipe():
    def layout(channels_last: bool, device: torch.device, channels: int):
        recipe = tiny_recipe(
            f"search.channels_last={str(channels_last).lower()}", f"supernet.channels={channels}"
        )
        return supernet_memory_format(recipe, device)

    small, large = CPU_CHANNELS_LAST_MIN - 2, CPU_CHANNELS_LAST_MIN  # even: FactorizedReduce
    assert layout(True, CPU, small) is torch.contiguous_format
    assert layout(True, CPU, large) is torch.channels_last
    assert layout(True, CUDA, small) is torch.channels_last
    assert layout(False, CPU, large) is torch.contiguous_format
    assert layout(False, CUDA, large) is torch.contiguous_format


@pytest.mark.slow
def test_a_four_channel_search_with_two_threads_completes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "factorspace", "search", str(TINY), "--device", "cpu"]
    args += ["--out", str(tmp_path / "run"), "--set", "search.epochs=1"]
    args += ["--set", "data.subset_per_class=0.01", "--threads", "2"]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "run" / "genotype.json").is_file()
