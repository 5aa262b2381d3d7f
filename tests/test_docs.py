"""Every Python code block in README.md and docs/*.md runs, top to bottom, one namespace per file.

A block is skipped only when the line just before its opening fence is ``<!-- no-run -->``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
FENCE = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.S)


def python_blocks(text: str) -> list[str]:
    return [
        match["code"] for match in FENCE.finditer("\n" + text)
        if match["before"].strip() != "<!-- no-run -->"
    ]


def test_the_block_extractor_finds_blocks_and_honours_the_marker():
    text = "intro\n```python\nx = 1\n```\n<!-- no-run -->\n```python\nraise SystemExit\n```\n"
    assert python_blocks(text) == ["x = 1"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_code_blocks_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(page.read_text())
    if not blocks:
        pytest.skip(f"{page.name} has no Python blocks")
    monkeypatch.chdir(tmp_path)  # files the examples write land in a temporary folder
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for number, code in enumerate(blocks, start=1):
        try:
            exec(compile(code, f"{page.name} block {number}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{page.name}, Python block {number} failed: {error!r}") from error
