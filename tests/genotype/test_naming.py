"""One node numbering in every line a person reads: the DARTS figures' names, not the file's."""

from __future__ import annotations

from factorspace.genotype import resolve_genotype
from factorspace.genotype.naming import cell_text, edge_text, node_name
from factorspace.search.progress import genotype_line
from factorspace.viz.report import cell_line


def test_nodes_are_named_as_in_the_darts_figures():
    assert [node_name(k) for k in range(5)] == ["c_{k-2}", "c_{k-1}", "0", "1", "2"]


def test_the_console_run_log_and_seeds_report_name_nodes_alike():
    """The search's epoch line (console and run.log) and the seeds report's, for DARTS V2,
    whose file has ('sep_conv_3x3', 0) into node 2 first and ('dil_conv_3x3', 2) into 5 last."""
    darts_v2 = resolve_genotype("darts_v2")
    line = cell_text(darts_v2, "normal")
    assert line.startswith("c_{k-2}->0 sep_conv_3x3·relu, c_{k-1}->0 sep_conv_3x3·relu, ")
    assert line.endswith("c_{k-2}->3 skip_connect, 0->3 dil_conv_3x3·relu")
    assert genotype_line(darts_v2) == line == cell_line(darts_v2, "normal")
    assert edge_text(darts_v2.reduce.edges[2]) == "0->1 skip_connect"
