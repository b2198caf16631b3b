"""Data and notes print as themselves: no live Markdown links or remote images, no Rich markup or
terminal control sequences from account names."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from icpkit.cli import app, plain
from icpkit.profile import IcpProfile, RuleEvidence
from icpkit.report import ReportInput, render_markdown

HOSTILE = (
    "![beacon](https://evil.example/pixel.png) [click](https://evil.example/x) "
    "<img src=https://evil.example/i.png> https://evil.example/bare www.evil.example "
    "owner@evil.example `code` **bold** | pipe"
)


def _html_of(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def test_markdown_never_turns_data_or_notes_into_links_or_images() -> None:
    rule = RuleEvidence(
        rule="industry = '[x](https://evil.example) `tick`'",
        support=40,
        coverage=0.3,
        precision=0.5,
        lift=2.0,
        lift_ci=(1.5, 2.5),
        description=HOSTILE,
    )
    profile = IcpProfile(
        name=HOSTILE, statement=HOSTILE, criteria=[rule], disqualifiers=[rule], caveats=[HOSTILE]
    )
    text, _ = render_markdown(
        ReportInput(profile, version=1, version_note=HOSTILE, diff_text="```\n" + HOSTILE)
    )
    html = _html_of(text)
    assert "evil.example" in html  # the text is still there, as text
    assert 'href="http' not in html and 'src="http' not in html and "<img" not in html
    assert "<a " not in html
    # GitHub also links bare URLs and e-mail addresses outside code: a word joiner stops that
    prose = re.sub(r"<(code|pre)>.*?</\1>", "", html, flags=re.S)
    for raw in ("https://evil", "www.evil", "@evil"):
        for m in re.finditer(re.escape(raw), prose):
            before = prose[m.start() - 1] if raw != "@evil" else prose[m.start() + 1]
            assert before == "\u2060", prose[max(0, m.start() - 20) : m.end()]


def test_rich_markup_and_escapes_in_account_names_print_as_text(tmp_path: Path) -> None:
    hostile = ["[/]", "[link=https://evil.example]click me[/link]", "\x1b]8;;https://evil\x1b\\x"]
    hostile.append(":smile:")
    names = [f"Plain {i}" for i in range(20)]
    for i, name in enumerate(hostile):
        names[2 * i] = name  # even rows lose their only deal: listed among the worst
    ids = [f"a{i}" for i in range(len(names))]
    pl.DataFrame({"account_id": ids, "name": names, "industry": ["x"] * len(ids)}).write_csv(
        tmp_path / "accounts.csv"
    )
    pl.DataFrame(
        {
            "deal_id": ids,
            "account_id": ids,
            "stage": ["won" if i % 2 else "lost" for i in range(len(ids))],
            "amount": [float(100 + i) for i in range(len(ids))],
            "created_at": [date(2024, 1, 1)] * len(ids),
        }
    ).write_csv(tmp_path / "deals.csv")
    (tmp_path / "icpkit.toml").write_text(
        '[sources.accounts]\npath = "accounts.csv"\n[sources.deals]\npath = "deals.csv"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["customers", "-w", str(tmp_path), "--top", "20"])
    assert result.exit_code == 0, result.output
    flat = re.sub(r"[\s│]", "", result.output)  # undo the table's wrapping of long names
    assert "[link=https://evil.example]c" in flat  # printed, not interpreted
    assert "[/]" in flat and ":smile:" in flat
    assert "\x1b" not in result.output


def test_plain_replaces_terminal_control_characters() -> None:
    assert plain("a\x1b[31mb\x07\tc\n") == "a\ufffd[31mb\ufffd\tc\n"
