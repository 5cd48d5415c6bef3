"""BENCHMARKS.md's sections: a bench replaces its own, keeps the others, and the contents follow the headings."""

from __future__ import annotations

from pathlib import Path

from markdown import CONTENTS_END, CONTENTS_START, headings, replace_section, with_contents

ROOT = Path(__file__).resolve().parents[2]


def test_replacing_a_section_keeps_the_others_and_regenerates_the_contents(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nIntro.\n\n## First\n\nold first\n\n## Second: b, c\n\nsecond\n")
    replace_section(path, "## First", "new first")
    replace_section(path, "Third", "third")
    text = path.read_text()
    assert headings(text) == ["First", "Second: b, c", "Third"]
    assert "old first" not in text
    assert "new first\n" in text
    assert "second\n" in text
    assert "- [Second: b, c](#second-b-c)" in text
    assert text.index("Intro.") < text.index(CONTENTS_START) < text.index(CONTENTS_END) < text.index("## First")
    replace_section(path, "Second: b, c", "second again")
    assert path.read_text().count(CONTENTS_START) == 1
    assert headings(path.read_text()) == ["First", "Second: b, c", "Third"]


def test_the_committed_report_lists_every_section_it_holds() -> None:
    text = (ROOT / "BENCHMARKS.md").read_text()
    assert with_contents(text) == text
    assert {"Scale: the three main pages at 10k, 100k and 1M orders", "Recommendation quality"} <= set(headings(text))
