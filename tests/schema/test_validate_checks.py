"""Recipes that used to pass `validate` and crash (or run wrong) later, each refused with one
located message naming the field and what to set (issue 19's red-team cases)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

import factorspace as fs
from factorspace.genotype import load_genotype
from factorspace.registry import OPERATORS

VALID = Path(__file__).parents[1] / "integration" / "bad_inputs" / "recipes" / "valid.yaml"
KERNEL_FACTOR = {
    "name": "kernel_size",
    "role": "argument",
    "choices": [3, 5],
    "applies_to": {"choices": ["sep_conv"]},
}


def recipe_with(tmp_path: Path, edit) -> Path:
    """valid.yaml with ``edit(data)`` applied, written to ``tmp_path``."""
    data = yaml.safe_load(VALID.read_text())
    edit(data)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def refusal(path: Path, overrides=()) -> fs.RecipeError:
    with pytest.raises(fs.RecipeError) as info:
        fs.load_recipe(path, overrides)
    return info.value


def with_kernels(*choices):
    def edit(data):
        data["space"]["factors"][0]["choices"].append("sep_conv")
        data["space"]["factors"].append({**KERNEL_FACTOR, "choices": list(choices)})

    return edit


def setting(section: str, key: str, value):
    def edit(data):
        data.setdefault(section, {})[key] = value

    return edit


ODD = "is not an odd integer in 1..15; the padding keeps the image size only for an odd kernel, e.g. 3, 5 or 7"  # fmt: skip
NOT_INT = "is not an integer; a kernel size is an odd integer, e.g. 3, 5 or 7"
BOOLEAN = "is a boolean (YAML reads yes, no, on, off, true and false as one), not an argument value; write a number, or quote the word for a string"  # fmt: skip

CASES = [
    # operator arguments, checked against the operator's declaration
    ("kernel_strings", with_kernels("3x3", "5x5"), "space.factors[2].choices[0]",
     f"operator 'sep_conv': kernel_size='3x3' {NOT_INT}"),
    ("kernel_even", with_kernels(3, 4), "space.factors[2].choices[1]",
     f"operator 'sep_conv': kernel_size=4 {ODD}"),
    ("kernel_zero", with_kernels(0), "space.factors[2].choices[0]",
     f"operator 'sep_conv': kernel_size=0 {ODD}"),
    ("kernel_yes", with_kernels(3, True), "space.factors[2].choices[1]",
     f"True {BOOLEAN}"),
    ("kernel_list", with_kernels([3, 5]), "space.factors[2].choices[0]",
     "[3, 5] is not an argument value; write one number or one string"),
    ("kernel_null", with_kernels(3, None), "space.factors[2].choices[1]",
     "None is not an argument value; write one number or one string"),
    # strict types: a bool or a float is not silently an integer
    ("cells_yes", setting("supernet", "cells", True), "supernet.cells",
     "Input should be a valid integer (got True)"),
    ("channels_float", setting("supernet", "channels", 8.0), "supernet.channels",
     "Input should be a valid integer (got 8.0)"),
    ("augment_one", setting("data", "augment", 1), "data.augment",
     "Input should be a valid boolean (got 1)"),
    # seeds torch takes, Adam's betas, normalisation, input channels
    ("seed_30_digits", setting("search", "seed", 10**30), "search.seed",
     f"Input should be less than or equal to {2**63 - 1} (got {10**30})"),
    ("seed_negative", setting("search", "seed", -1), "search.seed",
     "Input should be greater than or equal to 0 (got -1)"),
    ("beta_one", setting("search", "arch", {"betas": [0.5, 1.0]}), "search.arch.betas[1]",
     "Input should be less than 1 (got 1.0)"),
    ("std_zero", setting("data", "std", [0.2, 0, 0.2]), "data.std[1]",
     "Input should be greater than 0 (got 0)"),
    ("gray_input", setting("supernet", "in_channels", 1), "supernet.in_channels",
     "1, but data.dataset='bundled' gives 3-channel (RGB) images; set supernet.in_channels: 3"),
    # schedules and orders
    ("warmup_past_search", setting("search", "warmup_epochs", 2), "search.warmup_epochs",
     "2 is longer than the search (epochs is 1); set warmup_epochs below epochs"),
    ("lr_min_above_lr", setting("search", "weights", {"lr": 0.01, "lr_min": 0.1}),
     "search.weights.lr_min", "0.1 is above lr 0.01; the cosine anneals from lr down to lr_min"),
    ("factor_order_twice", setting("search", "factor_order", ["op", "activation", "op"]),
     "search.factor_order[2]",
     "'op' is listed twice (also at factor_order[0]); each factor steps once per iteration: "
     "list it once"),
    # an operator factor that computes nothing
    ("only_none", lambda d: d["space"].update(factors=[
        {"name": "op", "role": "operator", "choices": ["none"]}]), "space.factors[0].choices",
     "every choice (none) is a zero operator (no connection); add an operator that computes, "
     "e.g. skip_connect or sep_conv_3x3"),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "field", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_refused_at_the_field_with_what_to_set(tmp_path, edit, field, message):
    error = refusal(recipe_with(tmp_path, edit))
    assert (error.field, error.message) == (field, message)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("runs/../../etc", "contains a path separator (runs are written under runs/NAME)"),
        ("/tmp/elsewhere", "contains a path separator (runs are written under runs/NAME)"),
        ("..", "is empty or a relative directory"),
        ("bell\a", "contains a control character"),
        ("x" * 300, "has 300 characters, more than 100"),
    ],
)
def test_unsafe_run_names_are_refused(tmp_path, name, problem):
    error = refusal(recipe_with(tmp_path, lambda d: d.update(name=name)))
    assert error.field == "name"
    assert error.message.endswith(f"{problem}; use letters, digits, '-', '_' and '.'")


def test_an_unknown_operator_after_the_rule_reading_its_tags_is_named(tmp_path):
    def edit(data):
        data["space"]["factors"].reverse()  # the activation's rule comes first
        data["space"]["factors"][1]["choices"].append("bogus")

    error = refusal(recipe_with(tmp_path, edit))
    assert error.field == "space.factors[1].choices[4]"
    assert error.message.startswith("unknown operator 'bogus'; allowed: none, skip_connect, ")


def test_a_valid_kernel_factor_passes(tmp_path):
    recipe = fs.load_recipe(recipe_with(tmp_path, with_kernels(1, 3, 5, 7)))
    assert recipe.space.factor("kernel_size").choices == [1, 3, 5, 7]


@pytest.mark.parametrize(
    ("section", "key", "value", "field"),
    [
        ("supernet", "channels", 100_000, "supernet.channels"),
        ("data", "image_size", 65_536, "data.image_size"),
        ("search", "batch_size", 10**7, "search.batch_size"),
        ("supernet", "classes", 10**12, "supernet.classes"),
        # found by the fuzz test: the estimate once looped over every cell
        ("supernet", "cells", 10**9, "supernet.cells"),
    ],
)
def test_terabyte_supernets_are_refused_naming_the_field_that_drives_them(
    tmp_path, section, key, value, field
):
    path = recipe_with(tmp_path, setting(section, key, value))
    error = refusal(path)
    assert error.field == field
    assert "above limits.memory = 128 GiB; reduce " + f"{field} ({value}) or raise the limit with --set limits.memory=..." in error.message  # fmt: skip
    assert "TiB" in error.message or "PiB" in error.message or "EiB" in error.message
    recipe = fs.load_recipe(path, ["limits.memory=1000EiB"])  # the override lets it through
    assert recipe.limits.memory == 1000 * 2**60


def test_an_evaluation_batch_beyond_the_memory_limit_is_refused_at_its_line(tmp_path):
    path = recipe_with(tmp_path, setting("search", "eval_batch_size", 10**9))
    error = refusal(path)
    assert error.field == "search.eval_batch_size"
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "eval_batch_size" in t)
    assert error.line == line
    assert error.message.startswith("1000000000 images per evaluation batch need about ")
    assert error.message.endswith(
        "(weights and one no-grad batch's live activations, fp32), above limits.memory"
        " = 128 GiB; reduce search.eval_batch_size or raise the limit with "
        "--set limits.memory=..."
    )
    # no gradients kept: 4x the training batch is estimated below the training step itself
    from dataclasses import replace

    from factorspace.schema.limits import evaluation_bytes, memory_bytes, tensors_per_edge
    from factorspace.schema.recipe import search_sizes

    recipe = fs.load_recipe(VALID, ["search.eval_batch_size=256"])
    sizes, per_edge = search_sizes(recipe), tensors_per_edge(recipe.space)
    four_times = replace(sizes, batch_size=4 * sizes.batch_size)
    assert evaluation_bytes(four_times, per_edge) < memory_bytes(sizes, per_edge)


def test_a_lower_memory_limit_refuses_the_valid_recipe(tmp_path):
    error = refusal(VALID, ["limits.memory=1MiB"])
    assert error.field == "space.factors"  # no size above its default: the candidates drive it
    assert "above limits.memory = 1 MiB" in error.message


def test_400_nodes_are_refused_by_their_bound(tmp_path):
    error = refusal(recipe_with(tmp_path, lambda d: d["space"]["cell"].update(nodes=400)))
    assert (error.field, error.message) == (
        "space.cell.nodes",
        "Input should be less than or equal to 32 (got 400)",
    )


def test_a_factory_with_the_wrong_signature_is_refused_at_import(tmp_path, monkeypatch):
    (tmp_path / "bad_ops_19.py").write_text(
        "from factorspace.registry import register_operator\n"
        "@register_operator('bad_op_19')\n"
        "def make(channels):\n"
        "    return None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    error = refusal(recipe_with(tmp_path, lambda d: d.update(imports=["bad_ops_19"])))
    assert error.field == "imports[0]"
    assert error.message == (
        "cannot import module 'bad_ops_19': TypeError: operator 'bad_op_19': "
        "bad_ops_19.make(channels) must be callable as (channels, stride, affine, **arguments)"
    )
    assert "bad_op_19" not in OPERATORS


# The genotype side: what info, render and train read.
GENOTYPE = {
    "format": "factorspace.genotype",
    "version": 1,
    "normal": {
        "edges": [
            {"source": 0, "target": 2, "op": "sep_conv", "arguments": {"kernel_size": 3}},
            {"source": 1, "target": 2, "op": "skip_connect"},
        ],
        "concat": [2],
    },
    "reduce": {
        "edges": [
            {"source": 0, "target": 2, "op": "max_pool_3x3"},
            {"source": 1, "target": 2, "op": "max_pool_3x3"},
        ],
        "concat": [2],
    },
}


def genotype_file(tmp_path: Path, **first_edge) -> Path:
    data = yaml.safe_load(yaml.safe_dump(GENOTYPE))
    data["normal"]["edges"][0].update(first_edge)
    path = tmp_path / "genotype.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_huge_target_is_refused_without_allocating(tmp_path):
    start = time.perf_counter()
    with pytest.raises(fs.RecipeError) as info:
        load_genotype(genotype_file(tmp_path, target=1_000_000_000))
    assert time.perf_counter() - start < 2
    assert (info.value.field, info.value.message) == (
        "normal.edges",
        "nodes [3, 4, 5, 6, 7, ...] have no incoming edge",
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (4, f"kernel_size=4 {ODD}"),
        ("big", f"kernel_size='big' {NOT_INT}"),
    ],
)
def test_a_genotype_argument_is_checked_against_the_operator(tmp_path, value, reason):
    path = genotype_file(tmp_path, arguments={"kernel_size": value})
    with pytest.raises(fs.RecipeError) as info:
        load_genotype(path, registered=True)
    assert info.value.field == "normal.edges[0].arguments.kernel_size"
    assert info.value.message == f"operator 'sep_conv': {reason}"
    assert load_genotype(genotype_file(tmp_path)).normal.edges[0].arguments == {"kernel_size": 3}


def test_space_reports_the_estimate_validate_compares(tmp_path):
    from factorspace.schema.limits import human
    from factorspace.summary import estimated_search_bytes, space_summary

    recipe = fs.load_recipe(VALID)
    need = estimated_search_bytes(recipe)
    summary = space_summary(recipe, measure_memory=False)
    assert summary["estimated_search_gib"] == round(need / 2**30, 2)
    error = refusal(VALID, [f"limits.memory={need - 1}"])
    assert error.message.startswith(f"the search needs about {human(need)} ")
    assert fs.load_recipe(VALID, [f"limits.memory={need}"]).limits.memory == need


def test_a_yes_among_argument_choices_is_located_at_its_line(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(
        VALID.read_text()
        .replace("sep_conv_3x3]}", "sep_conv_3x3, sep_conv]}")
        .replace(
            "  cell:",
            "    - name: kernel_size\n"
            "      role: argument\n"
            "      choices: [3,\n"
            "        yes]\n"
            "      applies_to: {choices: [sep_conv]}\n"
            "  cell:",
        )
    )
    error = refusal(path)
    assert (error.line, error.field) == (12, "space.factors[2].choices[1]")
    assert error.message == f"True {BOOLEAN}"


OPTIMIZER_CASES = [
    ("search.weights.lr=1e300", "search.weights.lr", "Input should be less than or equal to 10"),
    ("search.weights.lr=0", "search.weights.lr", "Input should be greater than 0"),
    ("search.weights.lr=.nan", "search.weights.lr", "Input should be a finite number"),
    ("search.weights.momentum=1", "search.weights.momentum", "Input should be less than 1"),
    ("search.weights.momentum=-0.1", "search.weights.momentum",
     "Input should be greater than or equal to 0"),
    ("search.weights.weight_decay=-1e-4", "search.weights.weight_decay",
     "Input should be greater than or equal to 0"),
    ("search.weights.weight_decay=5", "search.weights.weight_decay",
     "Input should be less than or equal to 1"),
    ("search.weights.grad_clip=0", "search.weights.grad_clip", "Input should be greater than 0"),
    ("search.weights.grad_clip=.inf", "search.weights.grad_clip", "Input should be a finite number"),
    ("search.arch.lr=5", "search.arch.lr", "Input should be less than or equal to 1"),
    ("search.arch.lr=-6e-4", "search.arch.lr", "Input should be greater than 0"),
    ("search.arch.weight_decay=1e300", "search.arch.weight_decay",
     "Input should be less than or equal to 1"),
    ("search.arch_overrides.op.lr=1e300", "search.arch_overrides.op.lr",
     "Input should be less than or equal to 1"),
]  # fmt: skip


@pytest.mark.parametrize(("setting_", "field", "message"), OPTIMIZER_CASES)
def test_absurd_optimizer_settings_are_refused_by_validate(setting_, field, message):
    error = refusal(VALID, [setting_])
    assert (str(error.file), error.field) == (f"{VALID} (--set {field})", field)
    assert error.message.startswith(message)


def test_an_absurd_optimizer_setting_in_the_file_names_its_line(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(
        VALID.read_text().replace("search: {epochs", "search: {weights: {lr: 1.0e+300}, epochs")
    )
    error = refusal(path)
    assert (error.line, error.field) == (11, "search.weights.lr")
    assert error.message == "Input should be less than or equal to 10 (got 1e+300)"


def test_an_operator_check_that_fails_is_reported_not_raised(tmp_path, monkeypatch):
    """Found by the independent red-team corpus: a user's argument check is user code."""
    (tmp_path / "broken_check_19.py").write_text(
        "from factorspace.ops.primitives import sep_conv\n"
        "from factorspace.registry import register_operator\n"
        "def broken(value):\n"
        "    raise RuntimeError('the check itself is broken')\n"
        "@register_operator('broken_check_19', tags={'parameterized'},\n"
        "                   arguments={'kernel_size': broken})\n"
        "def make(channels, stride, affine, kernel_size=3):\n"
        "    return sep_conv(channels, kernel_size, stride, affine)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    def edit(data):
        data["imports"] = ["broken_check_19"]
        data["space"]["factors"][0]["choices"].append("broken_check_19")
        data["space"]["factors"].append(
            {**KERNEL_FACTOR, "applies_to": {"choices": ["broken_check_19"]}}
        )

    try:
        error = refusal(recipe_with(tmp_path, edit))
    finally:
        OPERATORS.remove("broken_check_19")
    assert (error.field, error.message) == (
        "space.factors[2].choices[0]",
        "operator 'broken_check_19': its check of kernel_size=3 failed: RuntimeError: the check "
        "itself is broken",
    )
