"""Every relative link of the README and docs/ leads somewhere: the file exists and, where the link
names a section (``page.md#section``), the page has a heading with that anchor. Sections moved
from the README to docs/ keep their links working only while this passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.+)$", text, re.MULTILINE)}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [t for t in _LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def test_the_anchor_rule_matches_githubs() -> None:
    assert _anchor("Torch-free serving (ONNX Runtime)") == "torch-free-serving-onnx-runtime"
    assert _anchor("The embedded default: no server at all") == "the-embedded-default-no-server-at-all"
    assert _anchor("Measure and adapt: `grounded eval`, `grounded train`") == (
        "measure-and-adapt-grounded-eval-grounded-train"
    )


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_relative_links_lead_to_a_file_and_a_section(page: Path) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no section #{anchor}")
    assert broken == []
