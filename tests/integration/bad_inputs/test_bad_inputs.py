"""The bad-input corpus: every command that reads input, fed what users get wrong.

Each case runs the real CLI and expects exit code 2 and one message, ``FILE:LINE: field: what is
wrong`` where the input has lines (the line is the one marked ``# <- ERROR`` in the corpus file),
never a traceback, and no run directory that looks complete. The corpus files are in
``recipes/`` and ``genotypes/`` next to this module; checkpoints and run directories are made
per test, as they hold binary data and absolute paths.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

import factorspace as fs
from factorspace.cli import app
from factorspace.genotype import get_genotype, save_genotype
from factorspace.retrain.recipe import load_train_recipe
from factorspace.run.checkpoint import records_block, save_checkpoint
from tests.crafted import checked, crafted_checkpoint

HERE = Path(__file__).resolve().parent
RECIPES, GENOTYPES = HERE / "recipes", HERE / "genotypes"
VALID = RECIPES / "valid.yaml"
MARK = "# <- ERROR"
DARTS = (  # one argument: no spaces
    "Genotype(normal=[('sep_conv_3x3',0),('sep_conv_3x3',1)],normal_concat={concat},"
    "reduce=[('max_pool_3x3',0),('max_pool_3x3',1)],reduce_concat=[2])"
)


@dataclass(frozen=True)
class Case:
    """``args`` may hold ``{d}`` (the per-test inputs folder) and ``{out}`` (a fresh run path).

    ``where`` is what the message starts with: a corpus file (then ``FILE:LINE:`` with the marked
    line), ``("set", FILE, KEY)`` for a value given by ``--set`` (``FILE (--set KEY):``), or a
    plain string (a path or argument, for inputs without lines such as checkpoints).
    """

    id: str
    kind: str
    args: tuple[str, ...]
    where: Path | tuple | str
    field: str | None
    says: str


def case(id, kind, command: str, where, says, field=None) -> Case:
    """A case whose command is one line (no spaces inside arguments); searches run on the CPU."""
    args = tuple(command.split())
    if args[0] in ("search", "train"):
        args += ("--device", "cpu") if "--device" not in args else ()
    return Case(id, kind, args, where, field, says)


def recipe(name, field, says, kind="recipe") -> Case:
    path = RECIPES / f"{name}.yaml"
    return Case(name, kind, ("validate", str(path)), path, field, says)


def runtime(name, field, says, *extra, where=None) -> Case:
    path = RECIPES / f"{name}.yaml" if where is None else VALID
    args = ("search", str(path), "--device", "cpu", "--out", "{out}", *extra)
    return Case(name, "data", args, path if where is None else where, field, says)


def setting(name, key_value, field, says, where=None) -> Case:
    key = key_value.partition("=")[0]
    return Case(
        name,
        "--set",
        ("validate", str(VALID), "--set", key_value),
        where or ("set", VALID, key),
        field,
        says,
    )


def genotype(name, field, says, command="info", marked=True) -> Case:
    path = GENOTYPES / f"{name}.yaml"
    args = (command, str(path)) + (("-o", "{out}/cells.gv") if command == "render" else ())
    return Case(f"genotype_{name}", "genotype", args, path if marked else str(path), field, says)


CASES = [
    # YAML itself
    recipe("yaml_unclosed_bracket", None, "YAML syntax error", "yaml"),
    recipe("yaml_tab_indent", None, "YAML syntax error: found character '\\t'", "yaml"),
    recipe("duplicate_key", "supernet.channels", "duplicate key 'channels'", "yaml"),
    recipe("not_a_mapping", None, "a recipe is a mapping", "yaml"),
    recipe("missing_space", "space", "required key is missing", "yaml"),
    # unknown keys, with a did-you-mean
    recipe("unknown_key_top", "serach", "(did you mean 'search'?)", "unknown key"),
    recipe("unknown_key_nested", "supernet.chanels", "(did you mean 'channels'?)", "unknown key"),
    # wrong types
    recipe("wrong_type_int", "supernet.channels", "valid integer", "type"),
    recipe("wrong_type_float", "search.epochs", "valid integer", "type"),
    recipe("wrong_type_mapping", "supernet", "expected a mapping", "type"),
    recipe("wrong_type_list", "space.factors[1].choices", "expected a list", "type"),
    recipe("bad_role", "space.factors[1].role", "'output'", "type"),
    recipe("bad_factor_name", "space.factors[1].name", "'activation-2'", "type"),
    recipe("on_nonfinite_unknown", "search.on_nonfinite", "'stop' or 'skip'", "type"),
    # unknown ops and activations, modules
    recipe(
        "unknown_op",
        "space.factors[0].choices[3]",
        "unknown operator 'sep_conv_3x4' (did you mean 'sep_conv_3x3'?)",
        "registry",
    ),
    recipe(
        "unknown_activation",
        "space.factors[1].choices[1]",
        "unknown activation 'relu7' (did you mean 'relu'?)",
        "registry",
    ),
    recipe("missing_import", "imports[0]", "cannot import module 'no_such_module_xyz'", "registry"),
    # rules naming missing factors, choices or tags
    recipe(
        "rule_missing_factor",
        "space.factors[1].applies_to.factor",
        "unknown factor 'opp' (did you mean 'op'?)",
        "rule",
    ),
    recipe(
        "rule_missing_choice",
        "space.factors[1].applies_to.choices[0]",
        "unknown choice of op 'sep_conv_5x5'",
        "rule",
    ),
    recipe(
        "rule_unknown_tag",
        "space.factors[1].applies_to.tags[0]",
        "(did you mean 'parameterized'?)",
        "rule",
    ),
    recipe("rule_selects_nothing", "space.factors[1].applies_to", "selects no operator", "rule"),
    recipe("rule_empty", "space.factors[1].applies_to", "a rule needs `tags` or `choices`", "rule"),
    recipe(
        "rule_missing_on_input",
        "space.factors[1].applies_to",
        "an input factor needs applies_to, the operator choices it transforms the input of; "
        "the paper's activations: applies_to: {factor: op, tags: [parameterized]}",
        "rule",
    ),
    recipe(
        "factor_order_unknown",
        "search.factor_order[1]",
        "unknown factor 'activaton' (did you mean 'activation'?)",
        "rule",
    ),
    recipe(
        "argument_reserved_keyword", "space.factors[2].applies_to", "no argument 'stride'", "rule"
    ),
    # impossible topologies, empty and duplicate factors or choices
    recipe("topology_keep_3", "space.cell.keep", "only 2 inputs", "topology"),
    recipe("topology_zero_nodes", "space.cell.nodes", "greater than or equal to 1", "topology"),
    recipe("empty_factor", "space.factors[1].choices", "at least 1 item", "factor"),
    recipe("duplicate_choice", "space.factors[1].choices[2]", "duplicate choice 'relu'", "factor"),
    recipe("duplicate_factor", "space.factors[1].name", "duplicate factor name 'op'", "factor"),
    recipe("no_operator_factor", "space.factors", "no factor has role `operator`", "factor"),
    recipe("two_operator_factors", "space.factors[1].role", "only one factor may", "factor"),
    # zero or negative sizes
    recipe("zero_channels", "supernet.channels", "greater than or equal to 2", "size"),
    recipe("negative_batch", "search.batch_size", "greater than or equal to 1 (got -8)", "size"),
    recipe("zero_epochs", "search.epochs", "greater than or equal to 1 (got 0)", "size"),
    recipe("image_size_not_multiple", "data.image_size", "18 is not a multiple of 4", "size"),
    recipe("memory_terabytes", "supernet.channels", "above limits.memory = 128 GiB", "size"),
    # what used to pass validate and fail later (issue 19)
    recipe(
        "argument_string_kernel",
        "space.factors[2].choices[0]",
        "operator 'sep_conv': kernel_size='3x3' is not an integer",
        "argument",
    ),
    recipe(
        "argument_even_kernel",
        "space.factors[2].choices[1]",
        "operator 'sep_conv': kernel_size=4 is not an odd integer",
        "argument",
    ),
    recipe("cells_bool", "supernet.cells", "valid integer (got True)", "type"),
    recipe("seed_too_large", "search.seed", "less than or equal to 9223372036854775807", "size"),
    recipe("only_none_operator", "space.factors[0].choices", "is a zero operator", "factor"),
    recipe("unsafe_run_name", "name", "contains a path separator", "name"),
    recipe("factor_order_twice", "search.factor_order[2]", "'op' is listed twice", "rule"),
    recipe("in_channels_gray", "supernet.in_channels", "set supernet.in_channels: 3", "data"),
    # found when the search starts: the data
    runtime(
        "batch_larger_than_data", "search.batch_size", ": 4096 is more than the training portion's"
    ),
    runtime("data_root_missing", "data.root", "/nonexistent/factorspace-data does not exist"),
    runtime("data_root_unset", "data.root", "not set; data.dataset=cifar10 needs a directory"),
    runtime("classes_mismatch", "supernet.classes", ": 7, but the data has 10 classes"),
    runtime(
        "data_root_without_images",
        "data.root",
        "has no images",
        *("--set", "data.dataset=imagefolder", "--set", "data.root={d}/no_images"),
        where=("set", VALID, "data.root"),
    ),
    runtime(
        "data_root_without_train_folder",
        "data.root",
        "has no train/ folder",
        *("--set", "data.dataset=imagefolder", "--set", "data.root={d}"),
        where=("set", VALID, "data.root"),
    ),
    # --set
    setting(
        "set_typo_in_path", "supernet.chanels=4", "supernet.chanels", "did you mean 'channels'"
    ),
    setting("set_bad_value", "search.epochs=-1", "search.epochs", "greater than or equal to 1"),
    setting(
        "set_no_such_item",
        "space.factors.7.name=x",
        None,
        "no item 7 in space.factors; the list has 2 items (0..1)",
        where=str(VALID),
    ),
    setting("set_into_a_number", "supernet.channels.x=1", None, "not a mapping", where=str(VALID)),
    setting("set_without_value", "supernet.channels", None, "dotted.key=value", where=str(VALID)),
    setting("set_empty_part", "search..epochs=1", None, "an empty part", where=str(VALID)),
    # genotypes that do not fit, or are not genotypes
    genotype("unknown_op", "normal.edges[1].op", "(did you mean 'skip_connect'?)"),
    genotype("unknown_activation", "normal.edges[2].inputs.activation", "(did you mean 'swish'?)"),
    genotype("source_after_target", "normal.edges[3].source", "takes inputs from nodes 0..2"),
    genotype("node_without_input", "reduce.edges", "nodes [3] have no incoming edge"),
    genotype("concat_missing_node", "normal.concat", "the nodes are 0..3"),
    genotype("zero_op_kept", "normal.edges[1].op", "the zero operator"),
    genotype("reserved_argument", "normal.edges[1].arguments.stride", "takes no argument"),
    genotype("huge_target", "normal.edges", "nodes [4, 5, 6, 7, 8, ...] have no incoming edge"),
    genotype("even_kernel", "normal.edges[0].arguments.kernel_size", "kernel_size=4 is not an odd"),
    genotype("word_kernel", "normal.edges[0].arguments.kernel_size", "'big' is not an integer"),
    genotype("wrong_type", "normal.edges[3].source", "valid integer", command="render"),
    genotype("wrong_format", "format", "not a factorspace genotype"),
    genotype("wrong_version", "version", "version 7 is not supported"),
    genotype("missing_cell", "reduce", "required key is missing", command="render"),
    genotype("yaml_error", None, "YAML syntax error"),
    genotype("recipe_not_genotype", None, "it looks like a recipe", marked=False),
    case(
        "train_genotype_unknown_op",
        "genotype",
        f"train {GENOTYPES}/unknown_op.yaml --out {{out}}",
        GENOTYPES / "unknown_op.yaml",
        "unknown operator 'skip_conect'",
        "normal.edges[1].op",
    ),
    case("zoo_typo", "genotype", "info darts_v3", "'darts_v3'", "did you mean"),
    # files from elsewhere run no code, parse within bounds (issue 26)
    genotype(
        "untrusted_import",
        "imports[0]",
        "the genotype names the module 'factorspace_corpus_module' for them, and factorspace "
        "imports no module a file names",
    ),
    genotype("untrusted_import", "imports[0]", "pass --import factorspace_corpus_module", "render"),
    *[
        case(
            f"{command.replace('-', '_')}_darts_{name}",
            "genotype",
            f"{command} {text}" + (" -o {out}/g.json" if command == "import-darts" else ""),
            where,
            says,
        )
        for command in ("info", "import-darts")
        for name, text, where, says in [
            ("huge_range", DARTS.format(concat="range(2,10000000000000)"), "normal_concat", "more"),
            ("long_range", DARTS.format(concat="range(2,100000000)"), "normal_concat", "more than"),
            ("deep", DARTS.format(concat="[[[[[[[[[2]]]]]]]]]"), "not a DARTS", "nested more"),
        ]
    ],
    case(
        "import_darts_long_concat",
        "genotype",
        "import-darts {d}/long_concat.py -o {out}/g.json",
        "{d}/long_concat.py: ",
        "characters, more than 20,000",
    ),
    case(
        "genotype_file_long_concat",
        "genotype",
        "info {d}/long_concat.json",
        "{d}/long_concat.json:1: normal.concat: [2, 3, 4,",
        "…",
    ),
    *[
        case(
            f"{command.split()[0]}_crafted_checkpoint",
            "checkpoint",
            command,
            "{d}/crafted.pt",
            "refused: it holds a Python object (posix.system)",
        )
        for command in ("eval {d}/crafted.pt", "export {d}/crafted.pt -o {out}/x.onnx")
    ],
    case(
        "export_to_a_directory",
        "export target",
        "export darts_v2 -o {d}/a_directory.pt2",
        "-o {d}/a_directory.pt2",
        "a directory; give a file path",
    ),
    case(
        "export_to_a_link_loop",
        "export target",
        "export darts_v2 -o {d}/loop.pt2",
        "-o {d}/loop.pt2",
        "a link loop",
    ),
    case(
        "export_to_dev_full",
        "export target",
        "export darts_v2 --format pt2 -o /dev/full",
        "-o /dev/full",
        "not a regular file",
    ),
    case(
        "study_variant_dotdot",
        "study",
        "study {d}/dotdot_study.yaml --device cpu --out {out}",
        "{d}/dotdot_study.yaml:",
        "is empty or a relative directory",
    ),
    # checkpoints
    case(
        "eval_corrupt_checkpoint",
        "checkpoint",
        "eval {d}/garbage.pt",
        "{d}/garbage.pt",
        "not a readable checkpoint",
    ),
    case(
        "eval_truncated_checkpoint",
        "checkpoint",
        "eval {d}/truncated.pt",
        "{d}/truncated.pt",
        "may be truncated or corrupt",
    ),
    case(
        "eval_search_checkpoint",
        "checkpoint",
        "eval {d}/resume_foreign/checkpoints/last.pt",
        "{d}/resume_foreign/checkpoints/last.pt",
        "not a checkpoint of `factorspace train`",
    ),
    case(
        "export_corrupt_checkpoint",
        "checkpoint",
        "export {d}/garbage.pt --format source -o {out}/net.py",
        "{d}/garbage.pt",
        "not a readable checkpoint",
    ),
    # run directories and --resume
    *[
        case(
            f"resume_{name}",
            "run directory",
            f"search {VALID} --out {{d}}/resume_{name} --resume",
            f"{{d}}/resume_{name}/{file}",
            says,
        )
        for name, file, says in [
            ("corrupt", "checkpoints/last.pt", "not a readable checkpoint"),
            ("truncated", "checkpoints/last.pt", "may be truncated or corrupt"),
            ("foreign", "checkpoints/last.pt", "not a checkpoint of `factorspace search`"),
            ("other_recipe", "recipe.yaml", "search.batch_size: this run was made by another"),
            ("crafted", "checkpoints/last.pt", "refused: it holds a Python object"),
            ("escaping_records", "checkpoints/last.pt", "is not a record file of a run"),
            ("empty_record", "run.json", "not a readable run record (JSONDecodeError)"),
            ("not_json_record", "run.json", "not a readable run record (JSONDecodeError)"),
        ]
    ],
    case(
        "resume_edited_recipe",
        "run directory",
        "search --resume {d}/resume_edited",
        "{d}/resume_edited/recipe.yaml: ",
        "edited after the run started",
        "search.epochs",
    ),
    case(
        "train_resume_not_json_record",
        "run directory",
        "train --resume {d}/train_not_json_record",
        "{d}/train_not_json_record/run.json",
        "not a readable run record",
    ),
    case(
        "resume_not_a_run_directory",
        "run directory",
        f"search {VALID} --out {{d}}/no_images --resume",
        "{d}/no_images",
        "not a run directory (no run.json)",
    ),
    case("resume_without_out", "run directory", f"search {VALID} --resume", "--resume", "--out"),
    case(
        "out_not_empty",
        "run directory",
        f"search {VALID} --out {{d}}/resume_corrupt",
        "{d}/resume_corrupt",
        "already exists and is not empty",
    ),
    case(
        "unknown_device",
        "run directory",
        f"search {VALID} --device tpu --out {{out}}",
        "--device tpu",
        "expected auto, cpu, cuda",
    ),
    case(
        "seed_and_seeds",
        "run directory",
        f"search {VALID} --seed 1 --seeds 1,2 --out {{out}}",
        "--seed and --seeds",
        "give one of them",
    ),
]


def marked_line(path: Path) -> int:
    (line,) = [i for i, text in enumerate(path.read_text().splitlines(), 1) if MARK in text]
    return line


def expected_start(case: Case, d: Path) -> str:
    if isinstance(case.where, Path):
        return f"{case.where}:{marked_line(case.where)}: "
    if isinstance(case.where, tuple):
        _, path, key = case.where
        return f"{path} (--set {key}): "
    return case.where.format(d=d)


def make_inputs(d: Path) -> None:
    """Checkpoints and run directories the cases read, in ``d``."""
    (d / "no_images" / "train" / "cat").mkdir(parents=True)
    (d / "garbage.pt").write_bytes(b"not a checkpoint\n" * 64)
    torch.save({"weights": torch.randn(1000)}, d / "whole.pt")
    data = (d / "whole.pt").read_bytes()
    (d / "truncated.pt").write_bytes(data[: len(data) // 2])
    resolved = fs.load_recipe(VALID).model_dump(mode="json")
    for name in ("corrupt", "truncated", "foreign", "other_recipe"):
        run = d / f"resume_{name}"
        (run / "checkpoints").mkdir(parents=True)
        recorded = resolved
        if name == "other_recipe":
            recorded = {**resolved, "search": {**resolved["search"], "batch_size": 32}}
        (run / "recipe.yaml").write_text(yaml.safe_dump(recorded, sort_keys=False))
        (run / "run.json").write_text(json.dumps({"status": "running"}))
    (d / "resume_corrupt/checkpoints/last.pt").write_bytes((d / "garbage.pt").read_bytes())
    (d / "resume_truncated/checkpoints/last.pt").write_bytes((d / "truncated.pt").read_bytes())
    torch.save(
        {"format": "factorspace.other", "epoch": 1}, d / "resume_foreign/checkpoints/last.pt"
    )
    make_untrusted_inputs(d, resolved)


def make_untrusted_inputs(d: Path, resolved: dict) -> None:
    """The inputs of issue 26's cases: crafted files, damaged records, bad export targets."""
    crafted_checkpoint(d / "crafted.pt", d / "MARKER", header=True, train=True)
    for name in ("crafted", "escaping_records", "empty_record", "not_json_record", "edited"):
        run = d / f"resume_{name}"
        (run / "checkpoints").mkdir(parents=True)
        (run / "recipe.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
        (run / "run.json").write_text(json.dumps({"status": "interrupted"}))
    crafted_checkpoint(
        d / "resume_crafted/checkpoints/last.pt", d / "MARKER", header=True, train=False
    )
    buffer = io.BytesIO()
    torch.save({"epoch": 1}, buffer)
    (d / "resume_escaping_records/checkpoints/last.pt").write_bytes(
        checked(records_block({"../../escaped.json": b"{}"}) + buffer.getvalue())
    )
    (d / "resume_empty_record/run.json").write_text("")
    (d / "resume_not_json_record/run.json").write_text("status: running\n")
    for name in ("empty_record", "not_json_record"):
        save_checkpoint(d / f"resume_{name}/checkpoints/last.pt", {"epoch": 1})
    save_checkpoint(d / "resume_edited/checkpoints/last.pt", {"epoch": 1})  # keeps recipe.yaml
    edited = {
        **resolved,
        "search": {**resolved["search"], "epochs": resolved["search"]["epochs"] + 1},
    }
    (d / "resume_edited/recipe.yaml").write_text(yaml.safe_dump(edited, sort_keys=False))
    train = d / "train_not_json_record"
    (train / "checkpoints").mkdir(parents=True)
    (train / "recipe.yaml").write_text(
        yaml.safe_dump(load_train_recipe(None).model_dump(mode="json"))
    )
    save_genotype(get_genotype("darts_v2"), train / "genotype.json")
    (train / "run.json").write_text("{not json")
    (d / "a_directory.pt2").mkdir()
    (d / "loop.pt2").symlink_to(d / "loop.pt2")
    concat = ", ".join(map(str, range(2, 60_002)))
    (d / "long_concat.py").write_text(DARTS.format(concat=f"[{concat}]") + "\n")
    g = get_genotype("darts_v2").model_dump(mode="json", exclude_none=True)
    g["normal"]["concat"] = list(range(2, 60_002))
    (d / "long_concat.json").write_text(json.dumps(g))
    study = {"name": "s", "seeds": [0], "train": {"recipe": str(VALID)}}
    study["variants"] = {"..": {"search": {"recipe": str(VALID)}}}
    (d / "dotdot_study.yaml").write_text(yaml.safe_dump(study, sort_keys=False))


def out_paths(args: list[str]) -> list[Path]:
    return [Path(args[i + 1]) for i, a in enumerate(args[:-1]) if a == "--out"]


def assert_one_message(case: Case, stderr: str, d: Path) -> None:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    (message,) = lines
    assert message.startswith("error: " + expected_start(case, d)), message
    rest = message.removeprefix("error: " + expected_start(case, d))
    if case.field is not None:
        assert rest.startswith(f"{case.field}: ") or rest.startswith(case.field), message
    assert case.says in message, message


def assert_no_complete_run(args: list[str], fresh: Path) -> None:
    for out in out_paths(args):
        if out.is_relative_to(fresh):  # a run this command would have started
            assert not out.exists() or not any(out.iterdir()), sorted(out.rglob("*"))
        else:
            try:
                run = json.loads((out / "run.json").read_text())
            except (OSError, ValueError):  # none, or the damaged one a case gave
                run = {}
            assert run.get("status") != "complete" and not (out / "genotype.json").exists()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_one_located_message(case, tmp_path):
    d, fresh = tmp_path / "inputs", tmp_path / "fresh"
    make_inputs(d)
    args = [a.format(d=d, out=fresh / "run") for a in case.args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert_one_message(case, result.stderr, d)
    assert_no_complete_run(args, fresh)


def test_the_corpus_covers_every_kind_and_file():
    kinds = {c.kind for c in CASES}
    assert {"yaml", "unknown key", "type", "registry", "rule", "topology", "factor"} <= kinds
    assert {"size", "data", "--set", "genotype", "checkpoint", "run directory"} <= kinds
    assert len(CASES) >= 40
    used = {c.where for c in CASES if isinstance(c.where, Path)} | {VALID}
    used |= {GENOTYPES / "recipe_not_genotype.yaml"}
    corpus = {*RECIPES.glob("*.yaml"), *GENOTYPES.glob("*.yaml")} - {GENOTYPES / "valid.yaml"}
    assert corpus == used  # every corpus file has a case, every marked file one marked line
    assert CliRunner().invoke(app, ["validate", str(VALID)]).exit_code == 0
    assert CliRunner().invoke(app, ["info", str(GENOTYPES / "valid.yaml")]).exit_code == 0


@pytest.mark.parametrize("name", ["unknown_key_nested", "topology_keep_3"])
def test_a_real_process_exits_2_with_the_message_only(name):
    path = RECIPES / f"{name}.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "factorspace", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {path}:{marked_line(path)}: ")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
