"""Table 2's re-training rows: a searched genotype with every activation replaced."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.errors import FactorspaceError
from factorspace.genotype import CELL_TYPES, get_genotype, load_genotype, save_genotype
from factorspace.genotype.transform import with_input


def edges(genotype):
    return [e for t in CELL_TYPES for e in getattr(genotype, t).edges]


def test_every_activation_is_replaced_and_nothing_else_changes():
    before = get_genotype("darts_v2")
    after = with_input(before, "selu")
    assert {e.inputs.get("activation") for e in edges(after) if e.inputs} == {"selu"}
    for old, new in zip(edges(before), edges(after), strict=True):
        assert (old.source, old.target, old.op, old.arguments) == (
            new.source,
            new.target,
            new.op,
            new.arguments,
        )
        assert set(old.inputs) == set(new.inputs)  # skip-connects and pools stay bare
    assert [c.concat for c in (after.normal, after.reduce)] == [before.normal.concat, [2, 3, 4, 5]]
    assert after.name == "darts_v2-activation-selu"
    assert "every activation set to selu" in after.source
    assert before.normal.edges[0].inputs == {"activation": "relu"}  # the input is not mutated


def test_unknown_activation_and_absent_factor_are_refused():
    with pytest.raises(
        FactorspaceError, match=r"'selu6' is not a registered activation \(did you mean"
    ):
        with_input(get_genotype("darts_v2"), "selu6")
    with pytest.raises(FactorspaceError, match="no edge has the input factor 'act'.*: activation"):
        with_input(get_genotype("darts_v2"), "relu", factor="act")


def test_cli_writes_the_new_genotype(tmp_path):
    source = save_genotype(with_input(get_genotype("darts_v2"), "prelu"), tmp_path / "g.json")
    result = CliRunner().invoke(
        app, ["genotype", "set-activation", str(source), "relu", "-o", str(tmp_path / "relu.json")]
    )
    assert result.exit_code == 0, result.output
    written = load_genotype(tmp_path / "relu.json")
    assert {e.inputs["activation"] for e in edges(written) if e.inputs} == {"relu"}
    bad = CliRunner().invoke(
        app, ["genotype", "set-activation", str(source), "nope", "-o", str(tmp_path / "x.json")]
    )
    assert bad.exit_code == 2
    assert "'nope' is not a registered activation" in bad.stderr
    assert not (tmp_path / "x.json").exists()
