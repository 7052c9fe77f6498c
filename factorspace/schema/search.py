"""How the search runs: the weights' optimizer, one optimizer per factor, the update order."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from factorspace.errors import FieldError
from factorspace.schema.early_stop import AnyStopRule
from factorspace.schema.regularizer import AnyRegularizer, RegularizerConfig
from factorspace.schema.relaxation import AnyRelaxation, RelaxationConfig, SoftmaxConfig
from factorspace.schema.selection import AnySelection, ArgmaxConfig, SelectionConfig
from factorspace.schema.space import JOINT_GROUP, SpaceConfig, Strict

Precision = Annotated[
    Literal["fp32", "bf16", "fp16"],
    Field(
        description="fp32: no autocast; bf16: autocast the forward passes to bfloat16 (GPU speed); "
        "fp16: autocast to float16, the weight step's loss scaled (GradScaler)"
    ),
]


MAX_SEED = 2**63 - 1  # torch.manual_seed takes a 64-bit integer
Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED)]
Beta = Annotated[float, Field(ge=0, lt=1)]  # Adam's decay rates: 1 never forgets, NaN at step 1

# Sane bounds on optimizer settings, so that a typo (1e300, 5 for 5e-4) is refused by `validate`
# rather than found as a non-finite step mid-run. Far above any published value: DARTS's SGD lr
# is 0.025-0.1 (large-batch ImageNet goes to a few units), its Adam lr 3e-4-6e-3, weight decay
# 3e-4-1e-3. NaN and infinity are refused everywhere (Strict's allow_inf_nan=False).
MAX_SGD_LR = 10.0
MAX_ADAM_LR = 1.0
MAX_WEIGHT_DECAY = 1.0


def sgd_lr_field(default: float, description: str = "") -> Any:
    """An SGD learning rate field: in (0, MAX_SGD_LR]."""
    return Field(default, gt=0, le=MAX_SGD_LR, description=_bounded(description, MAX_SGD_LR))


def weight_decay_field(default: float, description: str = "") -> Any:
    """A weight-decay field: in [0, MAX_WEIGHT_DECAY]."""
    return Field(default, ge=0, le=MAX_WEIGHT_DECAY, description=_bounded(description, 1.0))


def _bounded(description: str, bound: float) -> str:
    return f"{description}{'; ' if description else ''}at most {bound:g}"


class WeightOptimizer(Strict):
    """SGD with cosine annealing for the supernet weights (paper's CIFAR search settings)."""

    lr: float = sgd_lr_field(0.05, "peak learning rate (the paper: 0.05)")
    lr_min: float = Field(0.001, ge=0, description="cosine annealing floor, at most lr")
    momentum: float = Field(0.9, ge=0, lt=1, description="in [0, 1)")
    weight_decay: float = weight_decay_field(3e-4)
    grad_clip: float | None = Field(5.0, gt=0, description="gradient-norm clip; null: off")

    @model_validator(mode="after")
    def _floor_below_peak(self) -> WeightOptimizer:
        if self.lr_min > self.lr:
            raise FieldError(
                ("lr_min",),
                f"{self.lr_min} is above lr {self.lr}; the cosine anneals from lr down to lr_min",
            )
        return self


class ArchOptimizer(Strict):
    """Adam for one factor's architecture parameters (paper: lr 6e-4, betas (0.5, 0.999))."""

    lr: float = Field(
        6e-4,
        gt=0,
        le=MAX_ADAM_LR,
        description=_bounded("Adam learning rate (the paper: 6e-4)", MAX_ADAM_LR),
    )
    betas: tuple[Beta, Beta] = Field((0.5, 0.999), description="each in [0, 1)")
    weight_decay: float = weight_decay_field(1e-3)
    frozen: StrictBool = Field(False, description="keep this factor's parameters fixed (Config-A)")
    init_from: Path | None = Field(
        None, description="a run directory or arch checkpoint whose values for this factor to load"
    )


class SearchConfig(Strict):
    epochs: StrictInt = Field(25, ge=1)
    batch_size: StrictInt = Field(64, ge=1)
    eval_batch_size: StrictInt | None = Field(
        None,
        ge=1,
        description="images per batch of the validation pass at each epoch's end (eval mode, no "
        "gradients: the same loss and accuracy at any size, to rounding); null: batch_size, as "
        "DARTS's infer. Larger batches make fewer calls: on a 2-core CPU the quick start's "
        "evaluation runs 2-3x faster at 256 than at 32. Global: split over a torchrun's "
        "processes",
    )
    update: Literal["sequential", "simultaneous"] = Field(
        "sequential",
        description="sequential: each factor steps on the validation loss after the previous "
        "factor's step (Algorithm 1); simultaneous: one validation pass, every factor steps",
    )
    step_order: Literal["weights_first", "arch_first"] = Field(
        "weights_first",
        description="weights_first: each iteration steps the weights on the training batch, then "
        "the architecture on the validation batch (the paper's Algorithm 1); arch_first: the "
        "architecture step first, then the weights (DARTS's and PC-DARTS's train_search.py: "
        "architect.step before optimizer.step)",
    )
    order: Literal["first", "second"] = Field(
        "first",
        description="DARTS first-order or second-order (unrolled) architecture gradient. Second "
        "order unrolls one weight step from the weights before this iteration's weight step, on "
        "its training batch: w' = w - xi (momentum buffer + grad L_train(w) + weight_decay w), xi "
        "the current weight lr, then grad_a L_val(w') - xi (finite-difference Hessian term at "
        "w +- R grad_w' L_val, R = 0.01 / norm) (DARTS architect.py). arch_first computes w' "
        "explicitly, as DARTS does; weights_first takes w' to be the weight step just taken "
        "(Algorithm 1's line 3 is that step) and the Hessian term at the weights before it",
    )
    edge_weights: Literal["with_operator", "own_group"] = Field(
        "with_operator",
        description="under supernet.edge_normalization: with_operator: the edge weights step "
        "with the operator factor, in its Adam (its settings, one step on one validation loss), "
        "as PC-DARTS's single architecture optimizer over alphas and betas; own_group: the "
        "group `edge` has its own Adam (arch_overrides.edge), updated in turn (factor_order)",
    )
    factor_order: list[str] | None = Field(
        None,
        description="order of the per-group updates (default: the space's factor order, then "
        "`edge` when supernet.edge_normalization is on and edge_weights is own_group)",
    )
    warmup_epochs: StrictInt = Field(0, ge=0, description="epochs that train the weights only")
    weights: WeightOptimizer = Field(default_factory=WeightOptimizer)
    arch: ArchOptimizer = Field(default_factory=ArchOptimizer, description="every factor's default")
    arch_overrides: dict[str, ArchOptimizer] = Field(
        default_factory=dict, description="per-factor settings replacing `arch`"
    )
    max_skip_connects: StrictInt | None = Field(
        None,
        ge=0,
        description="P-DARTS: derive at most this many skip-connects in the normal cell, the "
        "weakest replaced by their edge's next-best operator; null: no cap",
    )
    early_stop_skip_count: StrictInt | None = Field(
        None,
        ge=0,
        description="stop the search (status early_stopped) after an epoch past the warm-up whose "
        "derived normal cell has more skip-connects than this (before any cap); null: off",
    )
    checkpoint_every_steps: StrictInt | None = Field(
        None, ge=1, description="also checkpoint mid-epoch"
    )
    on_nonfinite: Literal["stop", "skip"] = Field(
        "stop",
        description="a NaN or inf loss, gradient or architecture parameter: stop (the run fails "
        "naming the step, epoch and parameter group; the last checkpoint stays) or skip the batch "
        "(its updates are not applied; counted in the metrics' skipped_batches)",
    )
    seed: Seed = Field(0, description=f"0..{MAX_SEED} (torch.manual_seed)")
    channels_last: StrictBool = Field(
        True, description="channels_last memory format (faster convolutions on CPU and GPU)"
    )
    compile: StrictBool = Field(
        False,
        description="torch.compile each edge's mixed activation (eq. 2) into one fused kernel: "
        "faster steps after a one-off compile of about half a minute per input shape (needs a C++ "
        "compiler on CPU)",
    )
    precision: Precision = "fp32"
    tensorboard: StrictBool = Field(
        True, description="also log to TensorBoard when it is installed"
    )
    sync_batchnorm: StrictBool = Field(
        False,
        description="under torchrun: BatchNorm statistics over the global batch (SyncBatchNorm) "
        "rather than each process's share; no effect in one process",
    )

    relaxation: AnyRelaxation = Field(
        default_factory=SoftmaxConfig,
        description="how every factor's logits become edge weights: softmax (DARTS), gumbel "
        "(GDAS), dirichlet (DrNAS), or a registered one; `kind` selects it",
    )
    relaxation_overrides: dict[str, AnyRelaxation] = Field(
        default_factory=dict,
        description="per-factor relaxations replacing `relaxation`, e.g. {activation: {kind: gumbel}}",
    )
    regularizers: list[AnyRegularizer] = Field(
        default_factory=list,
        description="regularizers of every group's architecture loss or weight step: beta_decay "
        "(beta-DARTS), random_smoothing (SDARTS-RS), auxiliary_skip (DARTS-, on every edge), or a "
        "registered one; `kind` selects each",
    )
    regularizer_overrides: dict[str, list[AnyRegularizer]] = Field(
        default_factory=dict,
        description="per-group lists replacing `regularizers` (edge-level ones excepted), e.g. "
        "{activation: []}",
    )
    selection: AnySelection = Field(
        default_factory=ArgmaxConfig,
        description="how the genotype is chosen at the end: argmax (DARTS's rule), perturbation "
        "(DARTS-PT), or a registered one; `kind` selects it",
    )
    selection_overrides: dict[str, AnySelection] = Field(
        default_factory=dict,
        description="per-group selection rules replacing `selection`, e.g. {op: {kind: "
        "perturbation}}",
    )
    early_stop: list[AnyStopRule] = Field(
        default_factory=list,
        description="rules checked after every epoch past the warm-up, the first that fires "
        "stops the search: stable_ranking (DARTS+), hessian_eigenvalue (RobustDARTS's DARTS-ES)",
    )

    @property
    def eval_batch(self) -> int:
        """The evaluation's global batch: ``eval_batch_size``, else ``batch_size``."""
        return self.eval_batch_size or self.batch_size

    @model_validator(mode="after")
    def _arch_after_warmup(self) -> SearchConfig:
        # warmup_epochs == epochs is allowed: a weights-only run (the tests' probe of warm-up)
        if self.warmup_epochs > self.epochs:
            raise FieldError(
                ("warmup_epochs",),
                f"{self.warmup_epochs} is longer than the search (epochs is {self.epochs}); "
                "set warmup_epochs below epochs",
            )
        return self

    @model_validator(mode="after")
    def _one_of_each_kind(self) -> SearchConfig:
        lists = [(("regularizers",), self.regularizers), (("early_stop",), self.early_stop)]
        lists += [(("regularizer_overrides", g), r) for g, r in self.regularizer_overrides.items()]
        for loc, items in lists:
            kinds = [item.kind for item in items]
            for i, kind in enumerate(kinds):
                if kinds.index(kind) != i:
                    raise FieldError(
                        (*loc, i, "kind"),
                        f"{kind!r} is listed twice (also at [{kinds.index(kind)}]); list it once",
                    )
        return self

    @model_validator(mode="after")
    def _no_cap_over_perturbation(self) -> SearchConfig:
        selections = [self.selection, *self.selection_overrides.values()]
        if self.max_skip_connects is not None and any(s.kind == "perturbation" for s in selections):
            raise FieldError(
                ("max_skip_connects",),
                "DARTS-PT's perturbation selection chooses each edge's operation itself; a "
                "skip-connect cap would replace its choices: leave max_skip_connects null",
            )
        return self

    def arch_for(self, factor: str) -> ArchOptimizer:
        return self.arch_overrides.get(factor, self.arch)

    def relaxation_for(self, group: str) -> RelaxationConfig:
        return self.relaxation_overrides.get(group, self.relaxation)

    def regularizers_for(self, group: str) -> list[RegularizerConfig]:
        return self.regularizer_overrides.get(group, self.regularizers)

    def selection_for(self, group: str) -> SelectionConfig:
        return self.selection_overrides.get(group, self.selection)


def operator_group(space: SpaceConfig) -> str | None:
    """The architecture group holding the operator choice (``joint`` in the joint mode), which
    the edge weights join under ``search.edge_weights: with_operator``; ``None`` when the
    operator is fixed (the edge weights then keep a group of their own)."""
    if space.mode == "joint":
        return JOINT_GROUP
    name = space.operator.name
    return name if name in space.group_names else None
