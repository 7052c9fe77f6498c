"""The end of a search: its selection rules (``search.selection``, :mod:`factorspace.select`)
run on the trained supernet, and the genotype they choose.

DARTS's argmax everywhere (the default) derives the genotype exactly as the search always did. A
rule that fine-tunes between its decisions (DARTS-PT) runs more epochs of the search's own
iterations (:meth:`Search.iteration`: its step order, update, regularizers) with the optimizer it
gives; they are recorded in ``selection.json``, not in the search's metrics. A run interrupted
during the selection resumes from its last checkpoint, the end of its last epoch, and selects
again from there (the rules draw from the search's seed: the same decisions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from factorspace.derive import derive_from_weights, derive_genotype
from factorspace.errors import FactorspaceError
from factorspace.genotype import Genotype
from factorspace.run.atomic import write_json
from factorspace.run.device import next_batch, to_device
from factorspace.search.faults import FiniteGuard, NonFinite
from factorspace.select import Projection, SelectionRun, only_argmax, run_selection
from factorspace.select import check_selection as check_rules

if TYPE_CHECKING:
    from factorspace.search.loop import Search

SELECTION_FILE = "selection.json"


def check_selection(search: Search) -> None:
    """Refuse, before any epoch, selection rules that cannot run in this search."""
    check_rules(search.net, search.recipe.search, distributed=search.dist.enabled)


def final_genotype(search: Search) -> Genotype:
    """The genotype ``search`` ends with: its selection rules' choice, DARTS's rule for the rest."""
    cfg = search.recipe.search
    names = {"name": search.recipe.name, "source": str(search.run_dir)}
    if only_argmax(cfg):
        return derive_genotype(search.net, max_skip_connects=cfg.max_skip_connects, **names)
    run = SelectionRun(
        net=search.net,
        seed=cfg.seed,
        weights_config=cfg.weights,
        val_batches=lambda n: validation_batches(search, n),
        tune_epoch=lambda opt, index: tune_epoch(search, opt, index),
        evaluate=search.evaluate,
        stop_check=search.stop.check,
        say=lambda line: _say(search, line),
        distributed=search.dist.enabled,
    )
    projection = run_selection(run, cfg)
    if search.dist.is_main:
        write_json(search.run_dir / SELECTION_FILE, run.records)
    return selected_genotype(
        search.net, projection, max_skip_connects=cfg.max_skip_connects, **names
    )


def selected_genotype(
    net, projection: Projection, *, max_skip_connects=None, name=None, source=None
) -> Genotype:
    """DARTS's rule over the projected weights; without decisions, over the supernet itself
    (:func:`~factorspace.derive.derive_genotype`, bit for bit)."""
    if not projection:
        return derive_genotype(net, max_skip_connects=max_skip_connects, name=name, source=source)
    return derive_from_weights(
        net.space,
        projection.probabilities(),
        edge_weights=net.edge_weights(),
        max_skip_connects=max_skip_connects,
        name=name,
        source=source,
    )


def validation_batches(search: Search, n: int | None) -> list:
    """The next ``n`` validation batches on the search's device (``None``: one pass over all)."""
    batches = []
    for batch in search.data.val:
        batches.append(to_device(batch, search.device, search.memory_format))
        if n is not None and len(batches) == n:
            break
    return batches


def tune_epoch(search: Search, optimizer: torch.optim.Optimizer, index: int) -> dict:
    """One more epoch of the search's iterations, the weights stepped by ``optimizer``; its
    training and validation loss and accuracy."""
    cfg = search.recipe.search
    saved, search.w_opt = search.w_opt, optimizer
    guard = FiniteGuard(search.net, optimizer, search.a_opts, keep_buffers=False)
    data = search.data
    data.set_epoch(cfg.epochs + index)  # an order of its own, after the search's epochs
    val_iter = iter(data.val)
    search.net.train()
    loss_sum, correct, n = 0.0, 0, 0
    try:
        for batch in data.train:
            train = to_device(batch, search.device, search.memory_format)
            val = None
            if search.a_opts:
                val, val_iter = next_batch(val_iter, data.val, search.device, search.memory_format)
            try:
                loss, hits = search.iteration(train, val, guard)
            except NonFinite as e:
                raise FactorspaceError(
                    f"{e} in the selection's fine-tuning, epoch {index + 1}"
                ) from None
            loss_sum += float(loss) * train[1].numel()
            correct += hits
            n += train[1].numel()
            search.stop.check()
    finally:
        guard.remove()
        search.w_opt = saved
    val_loss, val_acc = search.evaluate()
    row = {
        "epoch": index + 1,
        "train_loss": loss_sum / max(n, 1),
        "train_acc": correct / max(n, 1),
        "val_loss": val_loss,
        "val_acc": val_acc,
    }
    _say(
        search,
        f"selection: fine-tuning epoch {index + 1}  train loss {row['train_loss']:.3f} "
        f"acc {100 * row['train_acc']:.1f}%  val loss {val_loss:.3f} acc {100 * val_acc:.1f}%",
    )
    return row


def _say(search: Search, line: str) -> None:
    if search.console is not None:
        search.console.print(line, highlight=False, markup=False, soft_wrap=True)
