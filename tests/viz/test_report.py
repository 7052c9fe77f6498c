"""The HTML report: content, escaping, files it refers to, fallbacks, the CLI, a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from factorspace.cli import app
from factorspace.genotype import load_genotype
from factorspace.viz.page import document
from factorspace.viz.palette import DISPLAY_NAMES
from factorspace.viz.render import GraphvizMissingWarning
from factorspace.viz.report import write_report
from tests.viz.test_plots import assert_png

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install chromium); the browser check "
    "of report.html is skipped",
)
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="graphviz's dot is not installed"
)


@pytest.fixture(scope="module")
def report(run_dir) -> Path:
    return write_report(run_dir)


@pytest.fixture
def copy(run_dir, tmp_path) -> Path:
    """A copy of the run to change (without its checkpoint or plots)."""
    dest = tmp_path / "run"
    shutil.copytree(run_dir, dest, ignore=shutil.ignore_patterns("checkpoints", "plots", "*.html"))
    return dest


class Links(HTMLParser):
    """Every src and href, and every <img> src."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if attrs.get(key):
                self.refs.append(attrs[key])
        if tag == "img":
            self.images.append(attrs["src"])


def links(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def test_report_shows_the_genotype(run_dir, report):
    assert report == run_dir / "report.html"
    html = report.read_text()
    genotype = load_genotype(run_dir / "genotype.json")
    for cell in ("normal", "reduce"):
        for edge in getattr(genotype, cell).edges:
            assert f"<code>{edge.op}</code>" in html
            for activation in edge.inputs.values():
                assert DISPLAY_NAMES.get(activation, activation) in html
    assert "Search report: adarts_cifar" in html
    assert "data-images-loaded" not in html.split("<script>")[0]  # set by the script, not by us


def test_report_has_the_overview_environment_and_recipe(run_dir, report):
    html = report.read_text()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["env"]["torch"] in html and run["env"]["git_commit"] in html
    assert "<details><summary>recipe.yaml" in html and "sep_conv_3x3" in html
    assert "candidates per edge</th><td>40</td>" in html  # space_summary of the recipe
    assert "architectures</th>" in html and "10<sup>" in html
    assert "2 of 2" in html
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert f"{100 * rows[-1]['val_acc']:.2f}%" in html  # the metrics table


def test_every_file_the_report_refers_to_exists(run_dir, report):
    found = links(report.read_text())
    files = [unquote(r) for r in found.refs if not r.startswith("#")]
    assert files, "no links"
    for ref in files:
        assert not ref.startswith(("/", "file:", "http")), f"not a relative path: {ref}"
        assert (run_dir / ref).is_file(), ref
    images = {unquote(s) for s in found.images}
    assert {"plots/cells_normal.svg", "plots/cells_reduce.svg", "plots/metrics.png"} <= images
    assert {
        f"plots/arch_{f}_{c}.png" for f in ("op", "activation") for c in ("normal", "reduce")
    } <= images


def test_report_shows_the_png_and_writes_no_pdf_by_default(copy):
    html = write_report(copy).read_text()
    assert '<img src="plots/arch_op_normal.png"' in html
    assert ".pdf" not in html and not list((copy / "plots").glob("*.pdf"))


def test_report_with_pdfs_links_them(copy):
    html = write_report(copy, formats=("png", "pdf")).read_text()
    assert '<img src="plots/arch_op_normal.png"' in html
    assert '<a href="plots/arch_op_normal.pdf">PDF</a>' in html
    assert (copy / "plots" / "metrics.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match="must include png"):
        write_report(copy, formats=("pdf",))


def test_report_says_what_the_heatmaps_outline_and_how_nodes_are_named(report):
    html = report.read_text()
    assert "Outlined: the choice the genotype derived after epoch 2 keeps" in html
    assert "the 2 strongest edges into each node" in html and "greyed rows" in html
    assert "Nodes as in the DARTS paper" in html
    assert "Each edge's own trajectories are drawn once a run has three epochs" in html


def test_report_escapes_text(copy):
    recipe = yaml.safe_load((copy / "recipe.yaml").read_text())
    recipe["name"] = "<b>A&B</b>"
    (copy / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    run = json.loads((copy / "run.json").read_text())
    run["env"]["command"] = '<script>alert("x")</script>'
    (copy / "run.json").write_text(json.dumps(run))
    html = write_report(copy).read_text()
    assert "<b>A&B</b>" not in html and "&lt;b&gt;A&amp;B&lt;/b&gt;" in html
    assert '<script>alert("x")' not in html and "&lt;script&gt;alert(" in html


def test_report_of_an_unfinished_run_uses_the_last_epochs_genotype(copy):
    (copy / "genotype.json").unlink()
    run = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps(run | {"status": "interrupted"}))
    html = write_report(copy).read_text()
    assert "did not finish" in html and "epoch 002" in html
    assert '<span class="status interrupted">interrupted</span>' in html


def test_report_without_dot_links_the_sources(copy, monkeypatch):
    monkeypatch.setattr("factorspace.viz.render.shutil.which", lambda name: None)
    with pytest.warns(GraphvizMissingWarning, match="apt-get install graphviz"):
        path = write_report(copy)
    html = path.read_text()
    assert "Cells not drawn" in html and "plots/cells_normal.gv" in html
    assert (copy / "plots" / "cells_normal.gv").is_file()
    assert "cells_normal.svg" not in html


@pytest.mark.slow
def test_cli_writes_the_report(copy):
    result = CliRunner().invoke(app, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert f"wrote {copy / 'report.html'}" in result.output
    assert (copy / "report.html").is_file() and (copy / "plots" / "metrics.png").is_file()
    assert not (copy / "plots" / "metrics.pdf").exists()
    result = CliRunner().invoke(app, ["report", str(copy), "--pdf"])
    assert result.exit_code == 0, result.output
    assert (copy / "plots" / "metrics.pdf").is_file()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: shutil.rmtree(d), "no such run directory"),
        (lambda d: (d / "metrics.jsonl").unlink(), "no metrics.jsonl"),
        (lambda d: shutil.rmtree(d / "arch"), "no arch/epoch_NNN.json"),
        (lambda d: (d / "metrics.jsonl").write_text(""), "metrics.jsonl has no epochs yet"),
        (
            lambda d: (d / "metrics.jsonl").write_text('{"epoch": 1,\n'),
            "metrics.jsonl:1: not a JSON",
        ),
    ],
    ids=["missing", "no-metrics", "no-arch", "no-epochs", "corrupt-metrics"],
)
def test_cli_refuses_an_incomplete_run_directory(copy, damage, message):
    damage(copy)
    result = CliRunner().invoke(app, ["report", str(copy)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (copy / "report.html").exists()


# --- a real browser ----------------------------------------------------------------------------


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
@needs_chromium
@needs_dot
def test_chromium_loads_every_image_and_the_page_fits_1280_px(report, tmp_path):
    result = chromium(
        "--window-size=1280,2400", "--dump-dom", report.as_uri(), profile=tmp_path / "profile"
    )
    body = re.search(r"<body[^>]*>", result.stdout)
    assert body, f"no DOM dumped: {result.stderr[-2000:]}"
    attrs = dict(re.findall(r'(data-[\w-]+)="([^"]*)"', body[0]))
    images = links(report.read_text()).images
    assert attrs.get("data-images-total") == str(len(images))
    assert attrs.get("data-images-loaded") == "true", f"broken: {attrs.get('data-images-broken')}"
    assert attrs.get("data-overflow") == "", "wider than a 1280-px window (cut or scrolled)"


@pytest.mark.slow
@needs_chromium
def test_the_page_says_what_is_wider_than_the_window(tmp_path):
    """The check above can fail: a table too wide for its scroll box is named."""
    wide = "<table>" + "<td>a_long_column_name</td>" * 80 + "</table>"
    page = tmp_path / "wide.html"
    page.write_text(document("wide", f'<div class="scroll">{wide}</div>'))
    result = chromium("--window-size=1280,800", "--dump-dom", page.as_uri(), profile=tmp_path / "p")
    assert 'data-overflow="scroll0"' in result.stdout, result.stderr[-2000:]


@pytest.mark.slow
@needs_chromium
def test_chromium_screenshot(report, tmp_path):
    shot = tmp_path / "report.png"
    result = chromium(
        "--window-size=1280,2400", f"--screenshot={shot}", report.as_uri(), profile=tmp_path / "p"
    )
    assert shot.is_file(), result.stderr[-2000:]
    assert_png(shot)
    with Image.open(shot) as im:
        assert im.size == (1280, 2400)
        colours = im.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 100  # a page, not a blank
