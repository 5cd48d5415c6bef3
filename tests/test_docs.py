"""The documentation stays true to the tree: every relative link of the Markdown pages leads to a file of this
repository (and, with a ``#fragment``, to one of its headings), the layout blocks name paths that exist, the README's
layout lists every top-level folder, and nothing refers to a design file that lives outside the repository.

Needs no server: it reads files only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# Written in another branch (execution plans): links to it are allowed before it lands.
PENDING = {DOCS / "engine.md"}
# Design notes that once lived beside the repository; nothing here may cite them.
OUTSIDE = ("DESIGN" + ".md", "STYLE" + ".md")
SKIPPED_DIRS = {"node_modules", "__pycache__"}

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"`+[^`]*`+")
# In a layout block: a file name with an extension, or a folder (a name ending in "/").
LAYOUT_PATH = re.compile(
    r"(?<![\w*./-])([\w.-]+(?:/[\w.-]+)*\.(?:py|graphql|json|xml|sql|md|html|mako|sh|png)"
    r"|[\w.-]+(?:/[\w.-]+)*/)(?![\w/])"
)


def _walk() -> Iterator[Path]:
    """Every file of the checkout, without hidden folders (but .ci), caches, installed packages and builds."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [
            d
            for d in dirs
            if d not in SKIPPED_DIRS and not d.endswith(".egg-info") and (not d.startswith(".") or d == ".ci")
        ]
        for name in files:
            yield Path(folder) / name


def _pages() -> list[Path]:
    return sorted(path for path in _walk() if path.suffix == ".md")


def _prose(text: str) -> Iterator[tuple[int, str]]:
    """The lines outside fenced code blocks, with their numbers."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = CODE_SPAN.sub(lambda m: m.group(0).strip("`"), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for _, line in _prose(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match is None:
            continue
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links(page: Path) -> Iterator[tuple[int, str]]:
    for number, line in _prose(page.read_text(encoding="utf-8")):
        for match in LINK.finditer(CODE_SPAN.sub("``", line)):
            yield number, match.group(1)


def test_the_pages_are_found() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in _pages()}
    assert {"README.md", "BENCHMARKS.md", "docs/README.md", "docs/ARCHITECTURE.md"} <= names


@pytest.mark.parametrize("page", _pages(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for number, target in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, fragment = target.partition("#")
        path = (page.parent / path_part).resolve() if path_part else page
        where = f"{page.relative_to(ROOT)}:{number}: {target}"
        if not path.is_relative_to(ROOT):
            broken.append(f"{where} (outside the repository)")
        elif path in PENDING:
            continue
        elif not path.exists():
            broken.append(f"{where} (no such file)")
        elif fragment and path.suffix == ".md" and fragment not in _anchors(path):
            broken.append(f"{where} (no such heading)")
    assert not broken, "\n".join(broken)


def test_docs_named_in_the_code_exist() -> None:
    """Docstrings and comments that send the reader to docs/<page>.md send them somewhere."""
    missing = []
    for path in _walk():
        if path.suffix not in {".py", ".md", ".toml", ".yml", ".sh", ".html"} and path.parent.name != "scripts":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in sorted(set(re.findall(r"(?<![\w/.])docs/[\w.-]+\.md", text))):
            if not (ROOT / name).exists() and ROOT / name not in PENDING:
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, "\n".join(missing)


def test_nothing_refers_to_design_notes_outside_the_repository() -> None:
    found = []
    for path in _walk():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a PNG
        found += [f"{path.relative_to(ROOT)}: {name}" for name in OUTSIDE if name in text]
    assert not found, "\n".join(found)


def _layout(page: Path) -> list[tuple[Path, str]]:
    """The entries of the code block under the page's "## Layout" heading: (path, description)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Layout")
    begin = next(i for i in range(start, len(lines)) if FENCE.match(lines[i]))
    end = next(i for i in range(begin + 1, len(lines)) if FENCE.match(lines[i]))
    entries: list[tuple[Path, str]] = []
    stack: list[tuple[int, Path]] = []
    for line in lines[begin + 1 : end]:
        indent = len(line) - len(line.lstrip(" "))
        name, _, description = line.strip().partition(" ")
        if indent < 18 and name:  # a new entry; deeper lines continue the description
            while stack and stack[-1][0] >= indent:
                stack.pop()
            path = (stack[-1][1] if stack else ROOT) / name.rstrip("/")
            stack.append((indent, path))
            entries.append((path, description))
        elif entries:
            entries[-1] = (entries[-1][0], f"{entries[-1][1]} {line.strip()}")
    return entries


@pytest.mark.parametrize("page", [ROOT / "README.md", DOCS / "ARCHITECTURE.md"], ids=["README", "ARCHITECTURE"])
def test_the_layout_names_existing_paths(page: Path) -> None:
    missing = []
    for path, description in _layout(page):
        if not path.exists():
            missing.append(str(path.relative_to(ROOT)))
        for named in LAYOUT_PATH.findall(description):
            if not (path / named).exists() and not (ROOT / named).exists():
                missing.append(f"{named} (under {path.relative_to(ROOT)})")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("page", [ROOT / "README.md", DOCS / "ARCHITECTURE.md"], ids=["README", "ARCHITECTURE"])
def test_the_layout_lists_every_folder(page: Path) -> None:
    """Every top-level folder, and every package of gateway/, has its line."""
    listed = {path for path, _ in _layout(page)}
    folders = {
        path
        for parent in (ROOT, ROOT / "gateway")
        for path in parent.iterdir()
        if path.is_dir()
        and not path.name.startswith(".")
        and path.name not in SKIPPED_DIRS
        and not path.name.endswith(".egg-info")
    }
    assert sorted(path.relative_to(ROOT).as_posix() for path in folders - listed) == []
