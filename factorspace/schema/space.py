"""The search space: factors, their roles, applicability rules, the mode and the cell.

A factor is one axis of the operator space (the paper's O1, O2, ...). Exactly one factor has the
``operator`` role; the others are ``input`` transforms (the paper's activation, eq. 2) or
``argument`` values passed to the operator's constructor. A rule says on which operator choices a
factor applies; elsewhere it is absent (eq. 1: non-parameterized ops see the identity).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from factorspace.errors import FieldError, clip, shown
from factorspace.registry import ACTIVATIONS, OPERATORS
from factorspace.schema.base import Strict, did_you_mean
from factorspace.schema.cell import MAX_NODES, AnyCell, CellConfig

__all__ = ["MAX_NODES", "CellConfig", "Strict", "did_you_mean"]  # re-exported: imported from here

Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Mode = Literal["factorized", "joint"]
JOINT_GROUP = "joint"  # the one architecture group of mode joint: every candidate of an edge
MAX_NAME_LENGTH = 100


def _safe_run_name(name: str) -> str:
    """A run name becomes a directory name and a label: one printable path part, not too long."""
    problem = None
    if not name.strip() or name in (".", ".."):
        problem = "is empty or a relative directory"
    elif "/" in name or "\\" in name:
        problem = "contains a path separator (runs are written under runs/NAME)"
    elif not name.isprintable():
        problem = "contains a control character"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"has {len(name)} characters, more than {MAX_NAME_LENGTH}"
    if problem:
        raise FieldError((), f"{_short(name)} {problem}; use letters, digits, '-', '_' and '.'")
    return name


def _short(value: object, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 5] + "...'"


safe_run_name = _safe_run_name  # the same rule for other names that become directories
RunName = Annotated[str, AfterValidator(_safe_run_name)]
"""A recipe's ``name``: a label and a directory name (no ``/``, printable, at most 100 chars)."""


def _argument_scalar(value: object) -> object:
    """An argument value is one number or string: YAML reads ``yes``/``no``/``on``/``off``/
    ``true``/``false`` as booleans, which Python would take as 1 and 0, and a list, a mapping or
    null is no value a constructor keyword takes."""
    if isinstance(value, bool):
        raise FieldError(
            (),
            f"{value} is a boolean (YAML reads yes, no, on, off, true and false as one), not an "
            "argument value; write a number, or quote the word for a string",
        )
    if not isinstance(value, int | float | str):
        raise FieldError(
            (), f"{shown(value)} is not an argument value; write one number or one string"
        )
    return value


ArgumentValue = Annotated[StrictInt | StrictFloat | StrictStr, BeforeValidator(_argument_scalar)]
"""An operator argument's value (a recipe's argument choice, a genotype's argument): an integer,
a float or a string, each taken as written (``3`` stays an int, ``yes`` is refused)."""


class Rule(Strict):
    """Where a factor applies: operator choices carrying one of ``tags`` or listed in ``choices``."""

    factor: Name | None = Field(None, description="the operator factor (default: the only one)")
    tags: list[str] = Field(default_factory=list, description="registry tags, e.g. parameterized")
    choices: list[str] = Field(default_factory=list, description="operator choices, by name")

    @model_validator(mode="after")
    def _not_empty(self) -> Rule:
        if not self.tags and not self.choices:
            raise FieldError((), "a rule needs `tags` or `choices`")
        return self


class OperatorFactor(Strict):
    role: Literal["operator"]
    name: Name
    choices: list[str] = Field(min_length=1, description="operator names from the registry")


# What a factor without `applies_to` is told to write. No default: "every operator" would put an
# activation before the pools and skip_connect, a space that is not the paper's (eq. 1).
APPLIES_TO_HINTS = {
    "input": "an input factor needs applies_to, the operator choices it transforms the input of; "
    "the paper's activations: applies_to: {factor: op, tags: [parameterized]}",
    "argument": "an argument factor needs applies_to, the operator choices whose constructor "
    "takes it, e.g. applies_to: {factor: op, tags: [parameterized]} or "
    "applies_to: {factor: op, choices: [sep_conv, dil_conv]}",
}


class RuledFactor(Strict):
    """A factor that applies only where its ``applies_to`` rule says (input and argument roles)."""

    @model_validator(mode="before")
    @classmethod
    def _has_rule(cls, data: object) -> object:
        known = isinstance(data, dict) and set(data) <= set(cls.model_fields)  # else: a typo
        if known and data.get("applies_to") is None:
            role = data.get("role", "input")
            raise FieldError(("applies_to",), APPLIES_TO_HINTS.get(role, APPLIES_TO_HINTS["input"]))
        return data


class InputFactor(RuledFactor):
    role: Literal["input"]
    name: Name
    choices: list[str] = Field(min_length=1, description="activation names from the registry")
    applies_to: Rule = Field(
        description="the operator choices whose input it transforms; the paper's activations: "
        "{factor: op, tags: [parameterized]}"
    )


class ArgumentFactor(RuledFactor):
    role: Literal["argument"]
    name: Name
    choices: list[ArgumentValue] = Field(min_length=1, description="values for the keyword")
    keyword: Name | None = Field(None, description="constructor keyword (default: the name)")
    applies_to: Rule = Field(description="the operator choices whose constructor takes it")

    @property
    def argument(self) -> str:
        return self.keyword or self.name


Factor = Annotated[OperatorFactor | InputFactor | ArgumentFactor, Field(discriminator="role")]


def _unknown(kind: str, name: object, allowed: list[str]) -> str:
    return (
        f"unknown {kind} {shown(name)}{did_you_mean(name, allowed)}; allowed: {', '.join(allowed)}"
    )


class SpaceConfig(Strict):
    """An operator space as a product of factors, with its relaxation mode and cell shape."""

    mode: Mode = Field(
        "factorized",
        description="factorized: a softmax per factor per edge (the paper); "
        "joint: one softmax over every valid combination (the non-factorized baseline)",
    )
    factors: list[Factor] = Field(min_length=1)
    cell: AnyCell = Field(
        default_factory=CellConfig,
        description="the cell: DARTS's (kind darts, the default) or NAS-Bench-201's (kind nb201)",
    )

    @model_validator(mode="after")
    def _check(self) -> SpaceConfig:
        _check_factors(self.factors)
        return self

    @property
    def operator(self) -> OperatorFactor:
        return next(f for f in self.factors if isinstance(f, OperatorFactor))

    def factor(self, name: str) -> OperatorFactor | InputFactor | ArgumentFactor:
        return next(f for f in self.factors if f.name == name)

    @property
    def group_names(self) -> list[str]:
        """The architecture groups: ``joint`` in the joint mode, else every factor with more than
        one choice (a fixed factor has no parameters)."""
        if self.mode == "joint":
            return [JOINT_GROUP]
        return [f.name for f in self.factors if len(f.choices) > 1]


def _check_factors(factors: list) -> None:
    """Cross-field rules of a space; each error points at the offending field."""
    seen: dict[str, int] = {}
    for i, f in enumerate(factors):
        if f.name in seen:
            raise FieldError(("factors", i, "name"), f"duplicate factor name {f.name!r}")
        seen[f.name] = i
    operators = [i for i, f in enumerate(factors) if isinstance(f, OperatorFactor)]
    if not operators:
        raise FieldError(("factors",), "no factor has role `operator`; exactly one must")
    if len(operators) > 1:
        raise FieldError(
            ("factors", operators[1], "role"), "only one factor may have role `operator`"
        )
    op_factor = factors[operators[0]]
    _check_choices_registered(op_factor, operators[0])  # the rules below read its tags
    for i, f in enumerate(factors):
        _check_choices_registered(f, i)
        if isinstance(f, OperatorFactor):
            _check_some_operator(f, i)
            continue
        _check_rule(f.applies_to, ("factors", i, "applies_to"), op_factor, list(seen))
        if not applicable_operators(f, op_factor):
            raise FieldError(("factors", i, "applies_to"), "the rule selects no operator choice")
        if isinstance(f, ArgumentFactor):
            _check_argument(f, i, op_factor)


def _check_choices_registered(f, i: int) -> None:
    registry = {"operator": OPERATORS, "input": ACTIVATIONS}.get(f.role)
    for j, choice in enumerate(f.choices):
        if f.choices.index(choice) != j:
            raise FieldError(("factors", i, "choices", j), f"duplicate choice {choice!r}")
        if registry is not None and choice not in registry:
            raise FieldError(
                ("factors", i, "choices", j), _unknown(registry.kind, choice, registry.names())
            )


def _check_rule(rule: Rule, loc: tuple, op_factor: OperatorFactor, names: list[str]) -> None:
    if rule.factor is not None and rule.factor != op_factor.name:
        if rule.factor not in names:
            raise FieldError((*loc, "factor"), _unknown("factor", rule.factor, names))
        raise FieldError(
            (*loc, "factor"), f"rules apply to the operator factor {op_factor.name!r} only"
        )
    for j, choice in enumerate(rule.choices):
        if choice not in op_factor.choices:
            raise FieldError(
                (*loc, "choices", j),
                _unknown("choice of " + op_factor.name, choice, op_factor.choices),
            )
    known_tags = sorted({t for c in op_factor.choices for t in OPERATORS.get(c).tags})
    for j, tag in enumerate(rule.tags):
        if tag not in known_tags:
            raise FieldError(
                (*loc, "tags", j),
                f"no choice of {op_factor.name!r} carries tag {tag!r}{did_you_mean(tag, known_tags)};"
                f" tags present: {', '.join(known_tags)}",
            )


def _check_some_operator(op_factor: OperatorFactor, i: int) -> None:
    """An edge of zero operators only computes nothing: the search would fail after an epoch."""
    if all("zero" in OPERATORS.get(op).tags for op in op_factor.choices):
        raise FieldError(
            ("factors", i, "choices"),
            f"every choice ({', '.join(op_factor.choices)}) is a zero operator (no connection); "
            "add an operator that computes, e.g. skip_connect or sep_conv_3x3",
        )


def _check_argument(f: ArgumentFactor, i: int, op_factor: OperatorFactor) -> None:
    """Each applicable operator takes the keyword and accepts every choice (its declaration)."""
    for op in applicable_operators(f, op_factor):
        entry = OPERATORS.get(op)
        if not entry.accepts(f.argument):
            raise FieldError(
                ("factors", i, "applies_to"),
                f"operator {op!r} takes no argument {f.argument!r}; restrict the rule to "
                "operators that do",
            )
        for j, choice in enumerate(f.choices):
            reason = argument_refusal(entry, f.argument, choice)
            if reason is not None:
                raise FieldError(("factors", i, "choices", j), reason)


def argument_refusal(entry, keyword: str, value: object) -> str | None:
    """Why the operator ``entry`` refuses ``keyword=value`` (its declaration, a user's check
    function among them), or None; a check that itself fails is reported as such."""
    try:
        return entry.argument_error(keyword, value)
    except Exception as e:  # a user's check function is user code: report it, never crash
        return (
            f"operator {entry.name!r}: its check of {keyword}={shown(value)} failed: "
            f"{e.__class__.__name__}: {clip(str(e), 120)}"
        )


def applicable_operators(factor, op_factor: OperatorFactor) -> list[str]:
    """The operator choices on which ``factor`` applies, in the operator factor's order.

    A zero-tagged operator (``none``) never takes other factors: a transform of nothing is nothing.
    """
    rule = factor.applies_to
    result = []
    for op in op_factor.choices:
        entry = OPERATORS.get(op)
        if "zero" in entry.tags:
            continue
        if op in rule.choices or entry.tags & set(rule.tags):
            result.append(op)
    return result
