"""Export a re-trained network for use without factorspace.

The inference graph, traced in eval mode (:mod:`~factorspace.retrain.graph_export`):

- :func:`export_program`: ``torch.export`` (a ``.pt2`` file); ``torch.export.load`` reads it.
- :func:`export_onnx`: ONNX (a ``.onnx`` file); ``onnxruntime`` runs it.
- :func:`export_torchscript`: TorchScript, deprecated by PyTorch since 2.9; ``torch.jit.load``.

Or the code:

- :func:`export_source`: one readable Python file that needs only torch. It holds the network
  classes of :mod:`factorspace.retrain.network` and the operator classes it uses (their source,
  copied), and writes each edge of the genotype out as the torch modules the registry builds for
  it, as a function of the cell's channel count. ``build()`` returns the network; a state dict
  saved from :func:`~factorspace.retrain.create_model` loads into it unchanged.

How an edge is written out: its operator is built once on the meta device at a sentinel channel
count, then each module is written as a constructor call whose arguments are read back from the
module's attributes (those named like the constructor's parameters; sentinel-valued integers
become ``c``). A ``torch.nn`` module, an ``nn.Sequential`` (or a subclass that keeps its
``forward``) and a class that stores its constructor arguments under their names can be written;
another raises :class:`~factorspace.errors.FactorspaceError` (export the graph then). The written
file is built once before it is saved and its weights are checked, name by name and shape by shape,
against the factorspace network's.
"""

from __future__ import annotations

import inspect
import json
import textwrap
import types
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype, GenotypeCell, check_buildable, resolve_genotype
from factorspace.ops import FactorizedReduce, ReLUConvBN
from factorspace.ops.kernels import TORCH_EQUIVALENT
from factorspace.retrain import network as net
from factorspace.retrain.graph_export import (  # noqa: F401  (the exports live here too)
    export_onnx,
    export_program,
    export_torchscript,
)
from factorspace.retrain.network import build_edge, build_network
from factorspace.schema.train import NetworkConfig

SENTINEL = 2 * 997  # a channel count no kernel, stride or padding equals; 997 is prime
_SHAPE_ARGUMENTS = {"kernel_size", "stride", "padding", "dilation", "output_size"}
_NETWORKS = {
    "cifar10": (net.AuxiliaryHeadCIFAR, net.NetworkCIFAR),
    "imagenet": (net.AuxiliaryHeadImageNet, net.NetworkImageNet),
}
# Classes whose constructor arguments are not attributes: how to read them back.
_ARGUMENTS: dict[type, Callable[[nn.Module], tuple[list, dict]]] = {
    FactorizedReduce: lambda m: (
        [m.conv_1.in_channels, m.bn.num_features],
        {} if m.bn.affine else {"affine": False},
    ),
}


def export_source(
    genotype: Genotype | str, path: str | Path, dataset: str = "cifar10", **sizes: object
) -> Path:
    """Write ``genotype``'s network as one standalone Python file (torch only).

    Args:
        genotype: a Genotype, genotype file, run directory or zoo name (see
            :func:`~factorspace.genotype.resolve_genotype`).
        path: the ``.py`` file to write.
        dataset: ``"cifar10"`` or ``"imagenet"``.
        **sizes: :class:`~factorspace.schema.train.NetworkConfig` fields; they become the defaults
            of the file's ``build()``.

    Returns:
        ``path``. Import the file (e.g. with ``importlib``) and call ``build()``.

    Raises:
        FactorspaceError: a genotype no network can be built from (naming the field), or an
            edge that holds a module that cannot be written as source.
    """
    genotype = resolve_genotype(genotype, registered=True)
    check_buildable(genotype)
    config = NetworkConfig(dataset=dataset, **sizes)
    text = generate_source(genotype, config)
    _check(text, genotype, config)
    path = Path(path)
    path.write_text(text)
    return path


def generate_source(genotype: Genotype, config: NetworkConfig) -> str:
    """The text of the standalone file (see :func:`export_source`)."""
    writer = _Writer()
    cells = [
        writer.cell_function(name, getattr(genotype, name), name == "reduce")
        for name in ("normal", "reduce")
    ]
    head, network = _NETWORKS[config.dataset]
    operators = list(dict.fromkeys([FactorizedReduce, ReLUConvBN, *writer.classes]))
    cell_factory = "CellFactory = Callable[[int, int, int, bool, bool], Cell]"
    rule = "# " + "-" * 97
    parts = [
        _HEADER.format(title=genotype.name or "a genotype", dataset=config.dataset).strip(),
        f"{rule}\n# Operators (from factorspace.ops)",
        *map(_source, operators),
        f"{rule}\n# The network (from factorspace.retrain.network)",
        *map(_source, [net.drop_path, net.Edge, net.Cell]),
        cell_factory,
        *map(_source, [head, net._Network, network]),
        f"{rule}\n# The genotype",
        _genotype_literal(genotype),
        *cells,
        _make_cell(genotype),
        _build(network.__name__, config),
    ]
    return "\n\n\n".join(p.strip() for p in parts) + "\n"


_HEADER = '''
"""{title} ({dataset}): a standalone PyTorch network, written by factorspace.

Needs torch only. ``build()`` returns the network; weights saved from
``factorspace.retrain.create_model`` load with ``model.load_state_dict``. The model returns logits,
or ``(logits, logits_aux)`` in training with the auxiliary head; ``model.drop_path_prob`` is the
drop-path probability the training loop schedules.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import BatchNorm2d  # factorspace's own computes the same, faster on CPU


def cat_channels(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The tensors concatenated along channels (factorspace's own differs only in speed)."""
    return torch.cat(tensors, dim=1)
'''


def _source(obj: object) -> str:
    return textwrap.dedent(inspect.getsource(obj)).strip() + "\n"


def _genotype_literal(genotype: Genotype) -> str:
    """``GENOTYPE = {...}``, one edge a line: ``Genotype.model_validate(GENOTYPE)`` reads it."""
    data = genotype.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    lines = [
        "# The genotype this file was written from (not used by the code below).",
        "GENOTYPE = {",
    ]
    for key, value in data.items():
        if key not in ("normal", "reduce"):
            lines.append(f"    {json.dumps(key)}: {json.dumps(value)},")
            continue
        lines.append(f'    "{key}": {{')
        lines.append('        "edges": [')
        lines += [f"            {json.dumps(edge)}," for edge in value.pop("edges")]
        lines.append("        ],")
        lines += [f"        {json.dumps(k)}: {json.dumps(v)}," for k, v in value.items()]
        lines.append("    },")
    return "\n".join([*lines, "}"])


def _make_cell(genotype: Genotype) -> str:
    return textwrap.dedent(
        f'''
        def make_cell(c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> Cell:
            """The genotype's reduction or normal cell at ``c`` channels (a ``CellFactory``)."""
            if reduction:
                return Cell(reduce_edges(c), {genotype.reduce.concat}, c_pp, c_p, c, True, reduction_prev)
            return Cell(normal_edges(c), {genotype.normal.concat}, c_pp, c_p, c, False, reduction_prev)
        '''
    ).strip()


def _build(network: str, config: NetworkConfig) -> str:
    return textwrap.dedent(
        f'''
        def build(
            channels: int = {config.channels},
            cells: int = {config.cells},
            classes: int = {config.classes},
            auxiliary: bool = {config.auxiliary},
            drop_path_prob: float = {config.drop_path},
        ) -> {network}:
            """The network, freshly initialised; the defaults are the exported sizes."""
            return {network}(make_cell, channels, cells, classes, auxiliary, drop_path_prob)
        '''
    ).strip()


class _Writer:
    """Writes modules as constructor calls and collects the custom classes they use."""

    def __init__(self) -> None:
        self.classes: list[type] = []

    def cell_function(self, name: str, cell: GenotypeCell, reduction: bool) -> str:
        lines = [
            f"def {name}_edges(c: int) -> list[Edge]:",
            f'    """The {name} cell\'s edges at ``c`` channels, in the genotype\'s order."""',
            "    return [",
        ]
        for edge in cell.edges:
            stride = 2 if reduction and edge.source < 2 else 1
            with torch.device("meta"):
                module = build_edge(edge, SENTINEL, stride)
            choices = [f"{k}={v}" for k, v in {**edge.inputs, **edge.arguments}.items()]
            lines.append(
                f"        # {edge.source} -> {edge.target}: {', '.join([edge.op, *choices])}"
            )
            inputs = ", ".join(f'"{k}": {self.expr(m, 2)}' for k, m in module.inputs.items())
            op = self.expr(module.op, 2)
            lines.append(f"        Edge({edge.source}, {edge.target}, {{{inputs}}}, {op}),")
        lines.append("    ]")
        return "\n".join(lines)

    def expr(self, module: nn.Module, depth: int) -> str:
        # factorspace's faster layers are written as the torch.nn layers they compute exactly
        cls = TORCH_EQUIVALENT.get(type(module), type(module))
        if isinstance(module, nn.Sequential) and cls.forward is nn.Sequential.forward:
            names = list(module._modules)
            if names != [str(i) for i in range(len(names))]:
                raise FactorspaceError(f"cannot write {cls.__name__} with named children {names}")
            pad = "    " * (depth + 1)
            children = "".join(f"\n{pad}{self.expr(m, depth + 1)}," for m in module)
            return f"nn.Sequential({children}\n{'    ' * depth})"
        if cls.__module__.startswith("torch.nn"):
            return f"nn.{cls.__name__}({self._arguments(module, cls)})"
        for base in reversed(cls.__mro__):
            if not base.__module__.startswith(("torch", "builtins")) and base not in self.classes:
                self.classes.append(base)
        return f"{cls.__name__}({self._arguments(module, cls)})"

    def _arguments(self, module: nn.Module, cls: type) -> str:
        if cls in _ARGUMENTS:
            args, kwargs = _ARGUMENTS[cls](module)
            return ", ".join([*map(_value, args), *(f"{k}={_value(v)}" for k, v in kwargs.items())])
        parts = []
        for name, param in inspect.signature(cls.__init__).parameters.items():
            if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if not hasattr(module, name):
                if param.default is param.empty:
                    raise FactorspaceError(
                        f"cannot write {cls.__name__} as source: its constructor argument "
                        f"{name!r} is not an attribute; export its graph with export_program"
                    )
                continue  # device, dtype...
            value = getattr(module, name)
            if name == "bias" and (value is None or isinstance(value, nn.Parameter)):
                value = value is not None
            if name in _SHAPE_ARGUMENTS and isinstance(value, tuple) and len(set(value)) == 1:
                value = value[0]
            if param.default is param.empty:
                parts.append(_value(value))
            elif value != param.default:
                parts.append(f"{name}={_value(value)}")
        return ", ".join(parts)


def _value(value: object) -> str:
    """A literal, with sentinel-derived channel counts written in terms of ``c``."""
    if isinstance(value, bool) or not isinstance(value, int | tuple):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_value, value)) + ("," if len(value) == 1 else "") + ")"
    return {SENTINEL: "c", SENTINEL // 2: "c // 2", 2 * SENTINEL: "2 * c"}.get(value, repr(value))


def _check(text: str, genotype: Genotype, config: NetworkConfig) -> None:
    """Build the written file and compare its weights' names and shapes with factorspace's."""
    module = types.ModuleType("factorspace_export_check")
    try:
        exec(compile(text, "<exported source>", "exec"), module.__dict__)
        with torch.device("meta"):
            written = module.build()
            expected = build_network(genotype, config)
    except Exception as error:
        raise FactorspaceError(f"the written source does not build: {error!r}") from error
    got = {k: tuple(v.shape) for k, v in written.state_dict().items()}
    want = {k: tuple(v.shape) for k, v in expected.state_dict().items()}
    if got != want:
        diff = sorted(set(got.items()) ^ set(want.items()))[:5]
        raise FactorspaceError(f"the written source's weights differ from the network's: {diff}")
