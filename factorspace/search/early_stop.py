"""Stopping a search early, and why: DARTS+'s two criteria and RobustDARTS's DARTS-ES.

The rules are checked after every epoch past the warm-up (whose architecture does not move), on
the metrics rows, so that a resumed search judges exactly as an uninterrupted one:

- ``search.early_stop_skip_count: N`` (DARTS+, Liang et al. 2019, arXiv:1909.06035, criterion 1:
  stop once a normal cell has two or more skip-connects, ``N = 1``): the derived normal cell,
  before any ``max_skip_connects`` cap, has more than ``N`` (the row's ``normal_skip_count``).
- ``{kind: stable_ranking, epochs: 10}`` (DARTS+, criterion 2: stop when the ranking of the
  learnable operations' architecture weights has been stable for 10 epochs): per cell type, group
  and edge, the order of the choices by weight, the operator group's (or the joint group's)
  restricted to operators tagged ``parameterized``; the row's ``ranking_stable_epochs`` counts
  the epochs in a row it has not changed.
- ``{kind: hessian_eigenvalue}`` (RobustDARTS, Zela et al., ICLR 2020, DARTS-ES): the row's
  ``hessian_eigenvalue`` (:mod:`factorspace.search.hessian`), every ``every`` epochs. With
  ``h = window // 2`` and the eigenvalues ``ev[0..m]`` computed so far, the local average of
  computation ``i`` is the mean of ``ev[max(0, i - h) .. i + h]`` (RobustDARTS's
  ``utils.EVLocalAvg``, a centred mean, shortened at the start); after computation ``m`` the
  latest full one is ``i = m - h``; the search stops when ``avg(i - lag) / avg(i) < ratio`` and
  the epoch of computation ``i - lag`` is at least ``start_epoch``, and returns the architecture
  of that epoch (the paper: "stop ... and return the architecture from epoch i - k").

A stop is recorded in ``run.json`` (``status: early_stopped``, ``early_stop``: the reason,
``early_stop_epoch``: the epoch whose architecture the genotype is) and printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch

from factorspace.errors import FactorspaceError
from factorspace.registry import OPERATORS
from factorspace.schema import SearchConfig
from factorspace.schema.early_stop import HessianEigenvalueConfig, StableRankingConfig
from factorspace.schema.search import operator_group
from factorspace.search.hessian import arch_weight_decays, dominant_eigenvalue


@dataclass(frozen=True)
class Stop:
    """Why a search stopped, and the epoch (1-based) whose architecture it keeps."""

    reason: str
    epoch: int

    def record(self) -> dict:
        return {"early_stop": self.reason, "early_stop_epoch": self.epoch}

    def __str__(self) -> str:  # what the console's "stopped early:" line says
        return self.reason


def collapse_reason(rows: list[dict], epoch: int, config: SearchConfig) -> str | None:
    """DARTS+'s skip-connect rule (``search.early_stop_skip_count``) on the last of ``rows``."""
    limit = config.early_stop_skip_count
    if limit is None or not rows or epoch <= config.warmup_epochs:
        return None
    count = rows[-1]["normal_skip_count"]
    if count <= limit:
        return None
    return (
        f"epoch {epoch}: the normal cell has {count} skip-connects, more than "
        f"search.early_stop_skip_count = {limit}"
    )


def stop_after(rows: list[dict], epoch: int, config: SearchConfig) -> Stop | None:
    """The first rule that stops the search after ``epoch`` epochs; ``None``: go on."""
    if not rows or epoch <= config.warmup_epochs:
        return None
    reason = collapse_reason(rows, epoch, config)
    if reason is not None:
        return Stop(reason, epoch)
    for rule in config.early_stop:
        if isinstance(rule, StableRankingConfig):
            stable = rows[-1]["ranking_stable_epochs"]
            if stable >= rule.epochs:
                return Stop(
                    f"epoch {epoch}: the ranking of the learnable operations has not changed "
                    f"for {stable} epochs (stable_ranking, epochs = {rule.epochs})",
                    epoch,
                )
        elif isinstance(rule, HessianEigenvalueConfig):
            stop = eigenvalue_stop(rows, rule)
            if stop is not None:
                return stop
    return None


def eigenvalue_stop(rows: list[dict], rule: HessianEigenvalueConfig) -> Stop | None:
    """DARTS-ES on the rows' ``hessian_eigenvalue`` (see the module)."""
    measured = [(r["epoch"], r["hessian_eigenvalue"]) for r in rows if "hessian_eigenvalue" in r]
    h = rule.window // 2
    i = len(measured) - 1 - h
    if i - rule.lag < 0:
        return None
    epoch = measured[i - rule.lag][0]
    if epoch < rule.start_epoch:
        return None

    def local_average(j: int) -> float:
        values = [ev for _, ev in measured[max(0, j - h) : j + h + 1]]
        return sum(values) / len(values)

    before, now = local_average(i - rule.lag), local_average(i)
    if now <= 0 or before / now >= rule.ratio:
        return None
    return Stop(
        f"epoch {measured[-1][0]}: the Hessian's dominant eigenvalue grew, its local average "
        f"{now:.4g} at epoch {measured[i][0]} against {before:.4g} at epoch {epoch} (ratio "
        f"{before / now:.3f} < {rule.ratio}); the architecture of epoch {epoch} is kept",
        epoch,
    )


class EarlyStopping:
    """What the rules measure after each epoch (the rows' extra columns), for one search."""

    def __init__(self, search) -> None:
        self.search = search
        self.rules = search.recipe.search.early_stop
        self.ranking: tuple | None = None  # the last epoch's, for stable_ranking

    def measure(self, epoch: int, weights) -> dict:
        """The columns the rules need for ``epoch`` (1-based); none without rules."""
        row = {}
        for rule in self.rules:
            if isinstance(rule, StableRankingConfig):
                row["ranking_stable_epochs"] = self._stable(epoch, weights)
            elif isinstance(rule, HessianEigenvalueConfig) and epoch % rule.every == 0:
                row["hessian_eigenvalue"] = self._eigenvalue(epoch, rule)
        return row

    def _stable(self, epoch: int, weights) -> int:
        ranking = learnable_ranking(self.search.net.space, weights)
        previous = self.ranking
        if previous is None and epoch > 1:  # resumed: the last epoch's, from its record
            previous = learnable_ranking(
                self.search.net.space, recorded_weights(self.search, epoch - 1)
            )
        rows = self.search.rows
        count = rows[-1].get("ranking_stable_epochs", 0) if rows else 0
        self.ranking = ranking
        return count + 1 if ranking == previous else 0

    def _eigenvalue(self, epoch: int, rule: HessianEigenvalueConfig) -> float:
        s = self.search
        params = arch_weight_decays(s.net, s.a_opts)
        if not params:
            return 0.0
        from factorspace.search.selecting import validation_batches

        devices = [s.device] if s.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # the search's random stream untouched
            value = dominant_eigenvalue(
                s.net,
                params,
                validation_batches(s, rule.batches),
                iterations=rule.iterations,
                tolerance=rule.tolerance,
                seed=s.recipe.search.seed + epoch,
            )
        # under torchrun each process measures on its own batches: one mean, one decision
        return s.dist.reduce_totals({"ev": value}, mean=("ev",))["ev"]

    def check(self, rows: list[dict], epoch: int) -> Stop | None:
        """:func:`stop_after`; on a stop, the supernet is given the architecture it keeps."""
        stop = stop_after(rows, epoch, self.search.recipe.search)
        if stop is not None:
            self.restore(stop)
        return stop

    def restore(self, stop: Stop) -> None:
        """Give the supernet the architecture of ``stop.epoch`` (from its record) when that is
        not the last epoch's."""
        s = self.search
        if stop.epoch == s.epoch:
            return
        alphas = json.loads(s.paths.arch(stop.epoch).read_text())["alphas"]
        with torch.no_grad():
            for t, groups in s.net.arch.items():
                for g, p in groups.items():
                    p.copy_(torch.tensor(alphas[t][g], dtype=p.dtype))


def learnable_ranking(space, weights) -> tuple:
    """Per cell type, group and edge, the choices in order of weight (the operators' group:
    its ``parameterized`` operators only), as one comparable value."""
    host = operator_group(space.config)
    out = []
    for t in sorted(weights):
        for g, w in sorted(weights[t].items()):
            w = torch.as_tensor(w)
            keep = list(range(w.shape[-1]))
            if g == host:
                keep = [k for k in keep if _parameterized(space, g, k)]
            for row in w[:, keep].tolist():
                out.append((t, g, tuple(sorted(range(len(keep)), key=lambda k: -row[k]))))
    return tuple(out)


def _parameterized(space, group: str, k: int) -> bool:
    op = space.candidates[k].op if space.mode == "joint" else space.config.operator.choices[k]
    return "parameterized" in OPERATORS.get(op).tags


def recorded_weights(search, epoch: int) -> dict:
    path = search.paths.arch(epoch)
    try:
        return json.loads(path.read_text())["weights"]
    except (OSError, KeyError, ValueError) as e:
        raise FactorspaceError(
            f"{path}: cannot read epoch {epoch}'s architecture weights ({e.__class__.__name__}), "
            "which search.early_stop's stable_ranking compares with"
        ) from None
