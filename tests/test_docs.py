"""Every ```python block in README.md and docs/*.md runs as written.

Each block runs in a fresh namespace with a temporary folder as the working directory; the folder
holds what the docs assume a reader has: ``demo/`` (a synthetic workspace, as ``icpkit demo``
writes it, with one saved version), ``my_icp.toml`` (the spec shown in docs/cold-start.md),
``prospects.csv`` and ``icp-profile.json``. A block that is not meant to run is preceded by a
``<!-- no-test -->`` line (keep that rare); one that builds an ICP from scratch (tens of seconds
on a loaded runner) by ``<!-- slow-test -->``, and runs with ``make test-slow``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from icpkit.datasets import make_crm
from icpkit.lifecycle.store import Store

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP_MARK = "<!-- no-test -->"
SLOW_MARK = "<!-- slow-test -->"


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    mark: str  # the HTML comment line just before the fence, or ""

    @property
    def skip(self) -> bool:
        return self.mark == SKIP_MARK

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def code_blocks(path: Path, language: str = "python") -> list[Block]:
    """The fenced blocks of one language in a Markdown file, with the line they start on."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    previous, i = "", 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == f"```{language}":
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            mark = previous if previous in (SKIP_MARK, SLOW_MARK) else ""
            blocks.append(Block(path, start, "\n".join(body) + "\n", mark))
        elif line.strip():
            previous = line.strip()
        i += 1
    return blocks


BLOCKS = [b for doc in DOCS for b in code_blocks(doc)]
PARAMS = [
    pytest.param(b, id=b.name, marks=[pytest.mark.slow] if b.mark == SLOW_MARK else [])
    for b in BLOCKS
]


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    demo = folder / "demo"
    make_crm(1500, seed=7).write_workspace(demo)
    profile_json = (FIXTURES / "profile_full.json").read_text("utf-8")
    Store(demo).save(profile_json, config_hash="docs", fingerprint={}, validation=None)
    (folder / "icp-profile.json").write_text(profile_json, encoding="utf-8")
    shutil.copy(demo / "accounts.csv", folder / "prospects.csv")
    spec = code_blocks(ROOT / "docs" / "cold-start.md", "toml")[0]
    (folder / "my_icp.toml").write_text(spec.code, encoding="utf-8")
    return folder


def test_the_docs_have_code_blocks_and_skips_stay_rare() -> None:
    assert len(BLOCKS) >= 4
    assert sum(b.skip for b in BLOCKS) <= max(1, len(BLOCKS) // 5)


def test_the_block_parser_reads_fences_and_skip_marks(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "text\n```python\na = 1\n```\n\n<!-- no-test -->\n\n```python\nb = 2\n```\n"
        "<!-- slow-test -->\n```python\nc = 3\n```\n```toml\nd = 4\n```\n"
    )
    blocks = code_blocks(doc)
    assert [(b.line, b.code, b.mark) for b in blocks] == [
        (2, "a = 1\n", ""),
        (8, "b = 2\n", SKIP_MARK),
        (12, "c = 3\n", SLOW_MARK),
    ]
    assert [b.skip for b in blocks] == [False, True, False]


@pytest.mark.parametrize("block", PARAMS)
def test_code_block_runs(
    block: Block, reader_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if block.skip:
        pytest.skip(f"{block.name} is marked {SKIP_MARK}")
    monkeypatch.chdir(reader_folder)
    exec(compile(block.code, block.name, "exec"), {"__name__": "__docs__"})
