"""A user's operator module written to a temporary folder, as the docs tell a user to write one.

Each use gets its own module, operator and activation names, removed from the registries and
``sys.modules`` afterwards, so tests stay independent.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from factorspace.registry import ACTIVATIONS, OPERATORS

SOURCE = '''"""My operators."""
from torch import nn

from factorspace.registry import register_activation, register_operator


@register_operator("{op}", tags={{"parameterized"}})
def conv1x1(channels, stride, affine):
    return nn.Sequential(
        nn.Conv2d(channels, channels, 1, stride, bias=False),
        nn.BatchNorm2d(channels, affine=affine),
    )


register_activation("{activation}")(lambda channels: nn.Hardswish())
'''


@dataclass(frozen=True)
class CustomOps:
    module: str
    folder: Path
    op: str
    activation: str

    @property
    def file(self) -> Path:
        return self.folder / f"{self.module}.py"


def write_custom_ops(folder: Path) -> CustomOps:
    tag = uuid.uuid4().hex[:8]
    ops = CustomOps(f"my_ops_{tag}", folder, f"conv1x1_{tag}", f"hardswish_{tag}")
    folder.mkdir(parents=True, exist_ok=True)
    ops.file.write_text(SOURCE.format(op=ops.op, activation=ops.activation))
    return ops


def forget(ops: CustomOps) -> None:
    OPERATORS.remove(ops.op)
    ACTIVATIONS.remove(ops.activation)
    sys.modules.pop(ops.module, None)


@pytest.fixture(name="custom_ops")
def custom_ops_fixture(tmp_path) -> Iterator[CustomOps]:
    """``my_ops_<tag>.py`` in ``tmp_path/project`` (not on ``sys.path``), not yet imported."""
    ops = write_custom_ops(tmp_path / "project")
    yield ops
    forget(ops)


def tiny_recipe_text(ops: CustomOps, imports: str | None = None) -> str:
    """A search over the custom operator and activation that takes seconds on a CPU."""
    return f"""name: custom
imports: [{imports or ops.module}]
space:
  factors:
    - {{name: op, role: operator, choices: [none, {ops.op}]}}
    - name: activation
      role: input
      choices: [relu, {ops.activation}]
      applies_to: {{tags: [parameterized]}}
  cell: {{nodes: 2, keep: 2}}
supernet: {{channels: 4, cells: 3, classes: 10}}
search: {{epochs: 1, batch_size: 16, tensorboard: false}}
data: {{dataset: bundled, subset_per_class: 0.02, image_size: 16, workers: 0}}
"""
