"""Config-A: a factor's architecture logits loaded from an earlier run (and usually frozen)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from factorspace.compile import Supernet
from factorspace.errors import FactorspaceError
from factorspace.run.rundir import RunDir
from factorspace.schema import Recipe


def load_initial_arch(net: Supernet, recipe: Recipe) -> None:
    """Copy into ``net`` each factor's logits named by ``search.arch_overrides.F.init_from``: an
    arch record, or a run directory (its last one).

    Raises:
        FactorspaceError: no record there, or one without that factor's logits of this shape.
    """
    for factor in net.space.searched_factors:
        source = recipe.search.arch_for(factor).init_from
        if source is None:
            continue
        path = Path(source)
        if path.is_dir():
            files = RunDir(path).arch_records()
            if not files:
                raise FactorspaceError(
                    f"{path} has no arch/", field=f"search.arch_overrides.{factor}.init_from"
                )
            path = files[-1]
        try:
            alphas = json.loads(path.read_text())["alphas"]
            with torch.no_grad():
                for t in net.arch:
                    net.arch[t][factor].copy_(torch.tensor(alphas[t][factor]))
        except (OSError, KeyError, ValueError, RuntimeError) as e:
            raise FactorspaceError(
                f"cannot load {factor!r} from {path} ({e.__class__.__name__}: {e})",
                field=f"search.arch_overrides.{factor}.init_from",
            ) from None
