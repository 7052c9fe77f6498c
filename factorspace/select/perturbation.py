"""DARTS-PT's perturbation-based selection (Wang et al., ICLR 2021), per factor.

The strength of a choice is what the trained supernet loses without it, not its weight. As the
reference code (github.com/ruocwang/darts-pt, ``nasbench201/projection.py`` and
``sota/cnn/projection.py``, ``pt_project``):

1. The weight optimizer is reset: plain SGD at ``search.weights.lr * tune_lr_scale`` (DARTS-PT:
   ``learning_rate / 10``, constant), the search's momentum and weight decay.
2. Round after round, in every cell type, an undecided edge is drawn uniformly at random
   (``--edge_decision random``). Each choice of the edge is masked in turn, its weight set to
   zero and nothing renormalised (``proj_mask``), and the supernet is scored on the validation
   split in training mode (``infer(..., eval=False)``: BatchNorm on batch statistics); the
   choice whose removal costs the most (``--proj_crit acc``: the lowest accuracy, the first of
   equal ones; ``loss``: the highest loss) is kept, the edge's weights become one-hot on it
   (``project_op``).
3. Cells that keep ``cell.keep`` inputs per node (DARTS's), once every edge is decided: node
   after node in random order, the edge whose removal scores best (the highest accuracy, the
   last of equal ones) is dropped until ``keep`` remain, each scored with the node's other edges
   present (``project_edge``).
4. Between two decisions the supernet is fine-tuned for ``tune_epochs`` epochs of the search's
   own iterations (``--proj_intv 5``: architecture and weight steps; the decided edges stay
   discrete); none after the last decision, which cannot change the genotype.

The genotype is DARTS's rule over the projected weights, as DARTS-PT's ``genotype()``.

Per factor: a decision masks one choice of one factor at a time. On the drawn edge the operator
factor is decided first (mask each operation); then each other factor this rule selects and that
applies to the chosen operation (mask each activation, each kernel size...), with the operator
already one-hot. A factor that does not apply to the chosen operation is left undecided (the
genotype does not record it). The joint mode has one group: masking a candidate masks one
(operation, activation...) combination. The number of rounds, and so the fine-tuning, is the
same in both modes: one per edge (and per node of a DARTS cell).

Differences from the reference: the validation batches a round scores are drawn once and shared
by its choices (every masked supernet sees the same batches); the BatchNorm statistics the
scoring passes would update are put back; ``eval_batches`` may score on fewer batches than the
whole validation split.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from factorspace.errors import FactorspaceError
from factorspace.schema.search import operator_group
from factorspace.schema.selection import PerturbationConfig
from factorspace.select.base import Projection, Selection, SelectionRun, register_selection


@register_selection("perturbation")
class Perturbation(Selection):
    config: PerturbationConfig

    def check(self, group: str, relaxation, run: SelectionRun) -> None:
        if relaxation.samples_paths:
            raise FactorspaceError(
                f"perturbation masks each choice of a supernet computing them all, but group "
                f"{group!r}'s relaxation {relaxation.config.kind!r} computes one sampled choice; "
                f"select {group!r} by argmax (search.selection_overrides.{group}.kind=argmax)",
                field="search.selection",
            )
        if run.distributed:
            raise FactorspaceError(
                "perturbation selection under torchrun is not supported yet: run the search in "
                "one process",
                field="search.selection",
            )

    def select(self, run: SelectionRun, groups: list[str], projection: Projection) -> None:
        net, space = run.net, run.net.space
        host = operator_group(space.config)
        ordered = sorted(groups, key=lambda g: g != host)  # the operator's factor first
        nodes = prunable_nodes(space) if self.config.topology and host in groups else []
        rounds = space.edges_per_cell + len(nodes)
        generator = torch.Generator().manual_seed(run.seed)
        cfg = run.weights_config
        optimizer = torch.optim.SGD(
            [p for p in net.weight_parameters() if p.requires_grad],
            lr=cfg.lr * self.config.tune_lr_scale,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )
        undecided = {t: list(range(space.edges_per_cell)) for t in net.arch}
        open_nodes = {t: list(nodes) for t in net.arch}
        log = run.records.setdefault("perturbation", {"decisions": [], "tuning": []})
        tuned = 0
        for r in range(rounds):
            if r:
                for _ in range(self.config.tune_epochs):
                    log["tuning"].append(run.tune_epoch(optimizer, tuned))
                    tuned += 1
            for t in net.arch:
                if r < space.edges_per_cell:
                    edge = undecided[t].pop(_draw(len(undecided[t]), generator))
                    for g in ordered:
                        if self._applies(g, host, t, edge, projection, space):
                            self._decide(run, projection, t, g, edge, log)
                else:
                    node, inputs = open_nodes[t].pop(_draw(len(open_nodes[t]), generator))
                    self._prune(run, projection, t, node, inputs, space.keep, log)

    def _applies(self, group, host, cell_type, edge, projection, space) -> bool:
        """Whether ``group`` still matters on ``edge`` once its operation is decided."""
        if group == host or host is None or (cell_type, host, edge) not in projection.fixed:
            return True
        op = space.config.operator.choices[projection.fixed[(cell_type, host, edge)]]
        applying = [*space.input_factors(op), *space.argument_factors(op)]
        return group in [f.name for f in applying]

    def _decide(self, run, projection, cell_type, group, edge, log) -> None:
        batches = run.val_batches(self.config.eval_batches)
        labels = run.net.space.groups[group]
        scores = []
        for choice in range(len(labels)):
            with projection.masked((cell_type, group, edge, choice)):
                scores.append(score(run, projection, batches))
            run.stop_check()
        # the choice whose removal hurts most; the first of equal ones (DARTS-PT's strict compare)
        key = self._cost
        best = min(range(len(scores)), key=lambda c: (-key(scores[c]), c))
        projection.fixed[(cell_type, group, edge)] = best
        log["decisions"].append(
            {
                "cell": cell_type,
                "edge": edge,
                "group": group,
                "choice": labels[best],
                "masked": {labels[c]: s for c, s in enumerate(scores)},
            }
        )
        run.say(
            f"selection: {cell_type} edge {edge} {group}: {labels[best]} ({_shown(scores, best)})"
        )

    def _prune(self, run, projection, cell_type, node, inputs, keep, log) -> None:
        edges, dropped = list(inputs), []
        while len(edges) > keep:
            batches = run.val_batches(self.config.eval_batches)
            scores = []
            for edge in edges:
                with projection.masked((cell_type, None, edge, None)):
                    scores.append(score(run, projection, batches))
                run.stop_check()
            # the edge whose removal costs least; the last of equal ones (DARTS-PT's >=)
            worst = max(range(len(edges)), key=lambda i: (-self._cost(scores[i]), i))
            dropped.append(edges.pop(worst))
        projection.removed.setdefault(cell_type, set()).update(dropped)
        log["decisions"].append(
            {"cell": cell_type, "node": node, "kept_edges": edges, "dropped_edges": dropped}
        )
        run.say(f"selection: {cell_type} node {node} keeps edges {edges}")

    def _cost(self, scores: dict[str, float]) -> float:
        """How much a masked supernet lost: its error (accuracy) or its loss."""
        if self.config.criterion == "accuracy":
            return -scores["accuracy"]
        return scores["loss"]


def score(run: SelectionRun, projection: Projection, batches) -> dict[str, float]:
    """Validation accuracy and loss of the supernet as ``projection`` (with its mask) makes it,
    in training mode (batch statistics), the BatchNorm statistics put back after. Random
    modules (rrelu) draw the same numbers for every masked supernet, from the search's seed,
    and the search's own random stream is left as it was."""
    net = run.net
    saved = [b.detach().clone() for b in net.buffers()]
    was_training, projection.scoring = net.training, True
    net.train()
    correct = total = 0
    loss = 0.0
    devices = [p.device for p in net.arch.parameters() if p.device.type == "cuda"][:1]
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(run.seed)
            for x, y in batches:
                logits = net(x).float()
                loss += float(F.cross_entropy(logits, y, reduction="sum"))
                correct += int((logits.argmax(-1) == y).sum())
                total += y.numel()
    finally:
        projection.scoring = False
        with torch.no_grad():
            for b, v in zip(net.buffers(), saved, strict=True):
                b.copy_(v)
        net.train(was_training)
    return {"accuracy": correct / max(total, 1), "loss": loss / max(total, 1)}


def prunable_nodes(space: Any) -> list[tuple[int, list[int]]]:
    """(node, its input edges) of every node with more inputs than the cell keeps."""
    inputs: dict[int, list[int]] = {}
    for k, (_, target) in enumerate(space.edge_list()):
        inputs.setdefault(target, []).append(k)
    keep = getattr(space, "keep", None)
    if not keep:
        return []
    return [(node, edges) for node, edges in inputs.items() if len(edges) > keep]


def _draw(n: int, generator: torch.Generator) -> int:
    return int(torch.randint(n, (1,), generator=generator))


def _shown(scores: list[dict], best: int) -> str:
    return f"masked accuracy {100 * scores[best]['accuracy']:.1f}% of " + ", ".join(
        f"{100 * s['accuracy']:.1f}" for s in scores
    )
