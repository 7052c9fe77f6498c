"""What a user installing factorspace reads: its licence, changelog entry and extras."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

from factorspace._version import __version__

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_license_file_is_the_declared_license():
    assert PROJECT["license"] == {"text": "MIT"}
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")


def test_the_changelog_has_an_entry_for_this_version():
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert __version__ in headings


def test_extras_for_tensorboard_and_onnx_and_the_tests_need_onnx():
    extras = {
        name: {re.split(r"[<>=\[]", r)[0] for r in reqs}
        for name, reqs in PROJECT["optional-dependencies"].items()
    }
    assert extras["tensorboard"] == {"tensorboard"}
    assert {"onnx", "onnxruntime", "onnxscript"} == extras["onnx"]
    assert extras["onnx"] <= extras["dev"]
