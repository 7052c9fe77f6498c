"""Named genotypes from the literature, and the one resolver of a genotype argument.

Each entry is the DARTS-format string from the cited repository file (parsed with
:func:`~factorspace.genotype.from_darts_string`, so parameterized edges use ReLU) and a ``source``
naming the paper and that file. ``nasnet`` and ``amoebanet`` are DARTS's transcriptions of those
cells: five nodes, operators outside DARTS's eight and a ``concat`` of the unused nodes only, so
they fit no factorspace search space; they are here to be re-trained and compared.

:func:`resolve_genotype` turns what a user passes (a Genotype, a file, a run directory, a zoo
name, a DARTS string or a ``genotypes.py``) into a Genotype; every command and API function that takes a genotype calls it.

    >>> from factorspace.genotype.zoo import get_genotype, list_genotypes
    >>> get_genotype("darts_v2").normal.edges[0].op
    'sep_conv_3x3'
"""

from __future__ import annotations

import difflib
from pathlib import Path

from factorspace.errors import FactorspaceError, shown
from factorspace.genotype.check import check_buildable
from factorspace.genotype.darts import from_darts_string
from factorspace.genotype.darts_files import (
    DARTS_SUFFIXES,
    darts_file_reference,
    looks_like_darts_string,
    read_darts_file,
)
from factorspace.genotype.io import load_genotype
from factorspace.genotype.model import Genotype

_DARTS_REPO = "github.com/quark0/darts cnn/genotypes.py"
_PC_DARTS_REPO = "github.com/yuhuixu1993/PC-DARTS genotypes.py"
_DARTS = "Liu, Simonyan & Yang, DARTS: Differentiable Architecture Search (ICLR 2019)"
_PC_DARTS = (
    "Xu et al., PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture Search "
    "(ICLR 2020)"
)
_DRNAS = "Chen et al., DrNAS: Dirichlet Neural Architecture Search (ICLR 2021)"

# name -> (the repository's DARTS string, its source)
_ZOO: dict[str, tuple[str, str]] = {
    "darts_v1": (
        "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), "
        "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
        "('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
        "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
        "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], "
        "reduce_concat=[2, 3, 4, 5])",
        f"{_DARTS}, first-order search on CIFAR-10; {_DARTS_REPO} (DARTS_V1)",
    ),
    "darts_v2": (
        "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
        "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
        "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
        "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
        "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
        "reduce_concat=[2, 3, 4, 5])",
        f"{_DARTS}, second-order search on CIFAR-10; {_DARTS_REPO} (DARTS_V2)",
    ),
    "pc_darts_cifar": (
        "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), "
        "('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), "
        "('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), "
        "('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), "
        "('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], "
        "reduce_concat=range(2, 6))",
        f"{_PC_DARTS}, searched on CIFAR-10; {_PC_DARTS_REPO} (PC_DARTS_cifar)",
    ),
    "pc_darts_imagenet": (
        "Genotype(normal=[('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), "
        "('skip_connect', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), "
        "('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), "
        "('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1), ('sep_conv_3x3', 2), "
        "('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3)], "
        "reduce_concat=range(2, 6))",
        f"{_PC_DARTS}, searched on ImageNet; {_PC_DARTS_REPO} (PC_DARTS_image)",
    ),
    "pdarts": (
        "Genotype(normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('skip_connect', 0), "
        "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 0), "
        "('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), "
        "('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), ('max_pool_3x3', 0), "
        "('dil_conv_3x3', 1), ('dil_conv_3x3', 1), ('dil_conv_5x5', 3)], "
        "reduce_concat=range(2, 6))",
        "Chen, Xie, Wu & Tian, Progressive Differentiable Architecture Search: Bridging the Depth "
        "Gap between Search and Evaluation (ICCV 2019), searched on CIFAR-10; "
        "github.com/chenxin061/pdarts genotypes.py (PDARTS)",
    ),
    "drnas_cifar": (
        "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 1), "
        "('sep_conv_3x3', 2), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2), "
        "('dil_conv_5x5', 3)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), "
        "('sep_conv_5x5', 1), ('dil_conv_5x5', 2), ('sep_conv_5x5', 1), ('sep_conv_5x5', 1), "
        "('dil_conv_5x5', 3), ('skip_connect', 4), ('sep_conv_5x5', 1)], "
        "reduce_concat=range(2, 6))",
        f"{_DRNAS}, searched on CIFAR-10; "
        "github.com/xiangning-chen/DrNAS DARTS-space/genotypes.py (DrNAS_cifar10)",
    ),
    "drnas_imagenet": (
        "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), "
        "('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('dil_conv_3x3', 3), ('skip_connect', 0), "
        "('sep_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), "
        "('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2), ('sep_conv_3x3', 0), "
        "('sep_conv_3x3', 2), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1)], "
        "reduce_concat=range(2, 6))",
        f"{_DRNAS}, searched on ImageNet; "
        "github.com/xiangning-chen/DrNAS DARTS-space/genotypes.py (DrNAS_imagenet)",
    ),
    "nasnet": (
        "Genotype(normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 0), "
        "('sep_conv_3x3', 0), ('avg_pool_3x3', 1), ('skip_connect', 0), ('avg_pool_3x3', 0), "
        "('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 1)], "
        "normal_concat=[2, 3, 4, 5, 6], reduce=[('sep_conv_5x5', 1), ('sep_conv_7x7', 0), "
        "('max_pool_3x3', 1), ('sep_conv_7x7', 0), ('avg_pool_3x3', 1), ('sep_conv_5x5', 0), "
        "('skip_connect', 3), ('avg_pool_3x3', 2), ('sep_conv_3x3', 2), ('max_pool_3x3', 1)], "
        "reduce_concat=[4, 5, 6])",
        "Zoph, Vasudevan, Shlens & Le, Learning Transferable Architectures for Scalable Image "
        f"Recognition (CVPR 2018), NASNet-A as transcribed in {_DARTS_REPO} (NASNet)",
    ),
    "amoebanet": (
        "Genotype(normal=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 0), "
        "('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('avg_pool_3x3', 3), ('sep_conv_3x3', 1), "
        "('skip_connect', 1), ('skip_connect', 0), ('avg_pool_3x3', 1)], "
        "normal_concat=[4, 5, 6], reduce=[('avg_pool_3x3', 0), ('sep_conv_3x3', 1), "
        "('max_pool_3x3', 0), ('sep_conv_7x7', 2), ('sep_conv_7x7', 0), ('avg_pool_3x3', 1), "
        "('max_pool_3x3', 0), ('max_pool_3x3', 1), ('conv_7x1_1x7', 0), ('sep_conv_3x3', 5)], "
        "reduce_concat=[3, 4, 6])",
        "Real, Aggarwal, Huang & Le, Regularized Evolution for Image Classifier Architecture "
        f"Search (AAAI 2019), AmoebaNet-A as transcribed in {_DARTS_REPO} (AmoebaNet)",
    ),
}


DARTS_STRING = "darts_string"
"""The name of a genotype given as a DARTS string (``render`` writes ``darts_string_cells.pdf``)."""


def list_genotypes() -> list[str]:
    """The zoo's names, e.g. ``['darts_v1', 'darts_v2', 'pc_darts_cifar', ...]``."""
    return list(_ZOO)


def get_genotype(name: str) -> Genotype:
    """The zoo genotype ``name`` (case and ``-``/``_`` ignored), its ``source`` cited.

    Raises:
        FactorspaceError: for an unknown name, with the closest names and the list.
    """
    key = _normalize(name)
    if key not in _ZOO:
        raise FactorspaceError(f"unknown zoo genotype {name!r}{_suggest(key)}")
    text, source = _ZOO[key]
    return from_darts_string(text, name=key, source=source)


def resolve_genotype(spec: Genotype | str | Path, *, registered: bool = False) -> Genotype:
    """A genotype from what a user passes, tried in this order: a :class:`Genotype` (returned as
    is), a run directory holding ``genotype.json``, a genotype file (JSON or YAML), a ``.py`` or
    ``.txt`` file holding a DARTS genotype (``genotypes.py:DARTS_V2`` picks one by name), a zoo
    name, or a DARTS string ``Genotype(normal=[...], ...)`` itself.

    ``registered``: also check that its operators and activations are registered (see
    :func:`~factorspace.genotype.io.load_genotype`), so building its network cannot fail on them.

    Example::

        resolve_genotype("runs/adarts")  # runs/adarts/genotype.json
        resolve_genotype("pc_darts_cifar")
        resolve_genotype("darts/cnn/genotypes.py:PC_DARTS_cifar")

    Raises:
        FactorspaceError: when ``spec`` is none of these (listing the zoo, with a did-you-mean),
            or a DARTS string or file that does not parse;
            :class:`~factorspace.errors.RecipeError` for a file that does not validate.
    """
    if isinstance(spec, Genotype):
        return spec
    path = Path(spec)
    kind = _kind(path)
    if kind == "dir":
        if not (path / "genotype.json").is_file():
            raise FactorspaceError(f"{path}: a run directory holds genotype.json; none here")
        return load_genotype(path / "genotype.json", registered=registered)
    if kind == "file" and path.suffix not in DARTS_SUFFIXES:
        return load_genotype(path, registered=registered)
    reference = darts_file_reference(str(spec))
    if reference is not None:
        return _buildable(read_darts_file(*reference), reference[0], registered)
    key = _normalize(str(spec))
    if key in _ZOO:
        return get_genotype(key)
    if looks_like_darts_string(str(spec)):  # named so that titles and file names stay short
        return _buildable(from_darts_string(str(spec), name=DARTS_STRING), None, registered)
    why = " (a name too long for a file)" if kind == "too long" else ""
    raise FactorspaceError(
        f"{shown(str(spec))} is no genotype file, run directory or zoo genotype{why}{_suggest(key)}"
    )


def _kind(path: Path) -> str | None:
    """``"dir"``, ``"file"``, ``None`` (nothing there) or ``"too long"`` for a file name."""
    try:
        return "dir" if path.is_dir() else "file" if path.is_file() else None
    except OSError:  # ENAMETOOLONG: a DARTS string or a pasted text, not a path
        return "too long"


def _buildable(genotype: Genotype, path: Path | None, registered: bool) -> Genotype:
    if registered:
        check_buildable(genotype, path=path)
    return genotype


def _normalize(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _suggest(key: str) -> str:
    close = difflib.get_close_matches(key, list(_ZOO), n=3)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return f"{hint}; zoo genotypes: {', '.join(_ZOO)}"
