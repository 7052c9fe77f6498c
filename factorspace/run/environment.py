"""What made a run: versions, platform, device, git commit and command line (``run.json``'s
``env``)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from factorspace._version import __version__


def git_commit() -> str | None:
    """The commit of the checkout factorspace runs from; None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def environment(device: torch.device) -> dict[str, Any]:
    env = {
        "factorspace": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
        "device": str(device),
        "cuda": torch.version.cuda,  # the CUDA torch was built with; None for a CPU build
        "git_commit": git_commit(),
        "command": " ".join(sys.argv),
        "argv": list(sys.argv),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env
