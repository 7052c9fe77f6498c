"""The report's document and sections: every navigation link has its section, text is escaped."""

from __future__ import annotations

import re

from factorspace.viz.page import document
from factorspace.viz.sections import environment_section, recipe_section, section


def test_the_document_escapes_its_title_and_holds_the_body():
    html = document("a <b> & c", "<p>body</p>")
    assert "<title>a &lt;b&gt; &amp; c</title>" in html
    assert "<main>\n<p>body</p>\n</main>" in html
    assert html.startswith("<!DOCTYPE html>")


def test_every_navigation_link_names_a_section_the_report_has():
    anchors = re.findall(r'<a href="#(\w+)">', document("t", ""))
    assert anchors == ["overview", "genotype", "weights", "metrics", "environment", "recipe"]
    assert section("weights", "W", "x").startswith('<section id="weights"><h2>W</h2>')
    assert 'id="environment"' in environment_section({"env": {"torch": "2.5"}})
    assert 'id="recipe"' in recipe_section("name: x")


def test_sections_escape_what_the_run_recorded():
    html = environment_section({"env": {"gpu": "<NVIDIA & co>"}})
    assert "&lt;NVIDIA &amp; co&gt;" in html and "<NVIDIA" not in html
    assert "run.json records none" in environment_section({})
    assert "(missing)" in recipe_section("")
