"""BENCHMARKS.md: replace one bench's section, keep every other, and regenerate the table of contents.

A section is a ``## `` heading and everything up to the next ``## `` heading. The contents sit between
CONTENTS_START and CONTENTS_END near the top and list every ``## `` heading in the file, in order, whoever wrote it.
"""

from __future__ import annotations

import re
from pathlib import Path

CONTENTS_START = "<!-- contents: generated from the ## headings (bench/markdown.py) -->"
CONTENTS_END = "<!-- /contents -->"


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(text: str) -> list[str]:
    return [line[3:].strip() for line in text.splitlines() if line.startswith("## ")]


def with_contents(text: str) -> str:
    """``text`` with its contents block listing its ``## `` headings (added after the title when missing)."""
    block = "\n".join([CONTENTS_START, *(f"- [{h}](#{anchor(h)})" for h in headings(text)), CONTENTS_END])
    if CONTENTS_START in text and CONTENTS_END in text:
        before, rest = text.split(CONTENTS_START, 1)
        return before + block + rest.split(CONTENTS_END, 1)[1]
    first = text.find("\n## ")
    if first < 0:
        return text.rstrip("\n") + "\n\n" + block + "\n"
    return text[:first].rstrip("\n") + "\n\n" + block + "\n" + text[first:]


def replace_section(path: Path, heading: str, body: str) -> None:
    """Put ``## heading`` followed by ``body`` in place of that section (at the end when it is new)."""
    title = f"## {heading.removeprefix('## ')}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{title}\n\n{body.strip()}\n"
    before, found, after = text.partition(f"\n{title}\n")
    rest = after[after.index("\n## ") :] if found and "\n## " in after else ""
    path.write_text(with_contents(before.rstrip("\n") + "\n\n" + section + rest))
