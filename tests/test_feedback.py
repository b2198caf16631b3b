"""Feedback from the field (icpkit.lifecycle.feedback): the log is append-only and free of PII,
and the summary counts agreement per tier, disputed criteria and later outcomes as documented."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from icpkit.errors import ConfigError
from icpkit.lifecycle.feedback import FeedbackEntry, FeedbackLog, new_entry, summarize
from icpkit.profile import IcpProfile
from icpkit.report.feedback_view import feedback_view
from icpkit.report.render import ReportInput, render_html, render_markdown


def verdict(
    account: str, shown: str, claimed: str, *, by: str = "k1", day: str = "2025-01-10",
    criteria: tuple[str, ...] = (), reason: str = "",
) -> FeedbackEntry:  # fmt: skip
    entry = new_entry(
        by_key=by, by_name="rep", version=1, account_id=account, tier_shown=shown,
        tier_claimed=claimed, reason=reason, criteria_met=criteria,
    )  # fmt: skip
    return entry.model_copy(update={"at": f"{day}T09:00:00+00:00"})


def test_reasons_and_names_lose_their_pii(tmp_path: Path) -> None:
    entry = new_entry(
        by_key="k1", by_name="maria@corp.com", version=2, account_id="A1", tier_shown="Tier 1",
        tier_claimed="Non-fit", reason="Maria Lopez (maria@corp.com, +1 415 555 0100) said no; "
        "see https://crm.example/x?token=abc", contact_names=["Maria Lopez"],
    )  # fmt: skip
    log = FeedbackLog(tmp_path)
    log.append(entry)
    text = log.path.read_text()
    for secret in ("maria", "Maria", "Lopez", "555", "token=abc", "corp.com"):
        assert secret not in text
    assert "[name]" in entry.reason and "[email]" in entry.reason and "[phone]" in entry.reason
    assert entry.disputed
    with log.path.open("a") as handle:  # a line added by hand is scrubbed when read
        handle.write(
            json.dumps(
                {**entry.model_dump(exclude={"disputed"}), "id": "x", "reason": "mail bob@x.org"}
            )
            + "\n"
        )
    entries, _ = log.read()
    assert entries[-1].reason == "mail [email]"


def test_unknown_tiers_and_long_reasons_are_refused() -> None:
    with pytest.raises(ConfigError, match="claimed tier"):
        verdict("A1", "Tier 1", "Tier 9")
    with pytest.raises(ConfigError, match="longer"):
        new_entry(by_key="k", by_name="", version=1, account_id="A", tier_shown="Tier 1",
                  tier_claimed="Tier 1", reason="x" * 1001)  # fmt: skip


def test_the_log_is_append_only_under_concurrent_writers(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    log.append(verdict("A0", "Tier 1", "Tier 1"))
    first = log.path.read_bytes()

    def write(i: int) -> None:
        for j in range(10):
            log.append(verdict(f"A{i}-{j}", "Tier 2", "Tier 3"))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.path.read_bytes().startswith(first)
    entries, warnings = log.read()
    assert len(entries) == 41 and not warnings
    assert len({e.account_id for e in entries}) == 41
    assert not list(tmp_path.joinpath(".icpkit").glob("*.part"))


def test_a_damaged_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    log.append(verdict("A1", "Tier 1", "Tier 2"))
    with log.path.open("a") as handle:
        handle.write('{"not": "an entry"}\n')
    log.append(verdict("A2", "Tier 1", "Tier 1"))
    entries, warnings = log.read()
    assert [e.account_id for e in entries] == ["A1", "A2"]
    assert warnings == [
        "feedback.jsonl: 1 damaged line skipped (line 2): unknown or missing fields"
    ]


def test_agreement_per_tier_counts_the_latest_verdict_per_rep_and_account() -> None:
    entries = [
        verdict("A1", "Tier 1", "Tier 3"),  # changed mind below: counted once, as agreed
        verdict("A1", "Tier 1", "Tier 1", day="2025-01-11"),
        verdict("A1", "Tier 1", "Non-fit", by="k2"),
        verdict("A2", "Tier 1", "Tier 1"),
        verdict("A3", "Tier 1", "Tier 1"),
        verdict("B1", "Tier 3", "Tier 1"),
        verdict("B2", "Tier 3", "Tier 3"),
    ]
    section = summarize(entries)
    assert section is not None
    assert (section.n_entries, section.n_reviewed, section.n_accounts, section.n_reviewers) == (
        7, 6, 5, 2,
    )  # fmt: skip
    tiers = {t.tier: t for t in section.tiers}
    assert set(tiers) == {"Tier 1", "Tier 3"}
    t1 = tiers["Tier 1"]
    assert (t1.n_reviewed, t1.n_agreed, t1.n_disputed, t1.claimed_lower) == (4, 3, 1, 1)
    assert t1.agreement_rate == pytest.approx(0.75)
    t3 = tiers["Tier 3"]
    assert (t3.n_agreed, t3.claimed_higher, t3.agreement_rate) == (1, 1, 0.5)
    assert section.agreement_rate == pytest.approx(4 / 6)
    assert summarize([]) is None
    assert summarize(entries, as_of=date(2025, 1, 9)) is None


def test_criteria_most_disputed_are_those_disputed_accounts_met() -> None:
    entries = [
        verdict("A1", "Tier 1", "Non-fit", criteria=("industry = Software", "employees >= 200")),
        verdict("A2", "Tier 1", "Tier 3", criteria=("industry = Software",)),
        verdict("A3", "Tier 1", "Tier 1", criteria=("industry = Software", "employees >= 200")),
        verdict("A4", "Tier 2", "Tier 2", criteria=("employees >= 200",)),
    ]
    section = summarize(entries)
    assert section is not None
    rows = [(c.rule, c.n_disputed, c.n_reviewed) for c in section.criteria]
    assert rows == [("industry = Software", 2, 3), ("employees >= 200", 1, 3)]


def test_later_outcomes_prove_the_rep_or_the_icp_right() -> None:
    entries = [
        verdict("up-won", "Tier 3", "Tier 1"),  # rep said better, then won: rep right
        verdict("up-lost", "Tier 3", "Tier 1"),  # rep said better, then lost: ICP right
        verdict("down-lost", "Tier 1", "Non-fit"),  # rep said worse, then lost: rep right
        verdict("down-won", "Tier 1", "Tier 3"),  # rep said worse, then won: ICP right
        verdict("before", "Tier 1", "Non-fit"),  # only a deal closed before the verdict
        verdict("agreed", "Tier 1", "Tier 1"),  # not disputed: not counted
    ]
    deals = pl.DataFrame(
        {
            "account_id": ["up-won", "up-lost", "down-lost", "down-won", "before", "agreed"],
            "stage": ["won", "lost", "lost", "won", "won", "won"],
            "closed_at": [date(2025, 3, 1)] * 4 + [date(2024, 12, 1), date(2025, 3, 1)],
        }
    )
    section = summarize(entries, deals)
    assert section is not None and section.outcomes is not None
    o = section.outcomes
    assert (o.n_disputed, o.rep_right, o.icp_right, o.pending, o.dated) == (5, 2, 2, 1, True)
    undated = summarize(entries, deals.drop("closed_at"))
    assert undated is not None and undated.outcomes is not None
    assert not undated.outcomes.dated and undated.outcomes.pending == 5


def test_the_report_shows_feedback_only_when_there_is_some() -> None:
    bare = IcpProfile(statement="Software companies.")
    assert "Feedback from the field" not in render_html(ReportInput(bare))
    assert feedback_view(None) is None
    section = summarize(
        [verdict("A1", "Tier 1", "Non-fit", reason="<b>they churned</b>"),
         verdict("A2", "Tier 1", "Tier 1")]
    )  # fmt: skip
    profile = bare.model_copy(update={"feedback": section})
    again = IcpProfile.from_json(profile.to_json())
    assert again.feedback == section
    html = render_html(ReportInput(again, version=2))
    assert "Feedback from the field" in html and "50%" in html
    assert "&lt;b&gt;they churned" in html and "<b>they churned" not in html
    markdown, _ = render_markdown(ReportInput(again))
    assert "## Feedback from the field" in markdown and "Agreement per tier shown" in markdown
    assert json.loads(again.to_json())["feedback"]["tiers"][0]["agreement_rate"] == 0.5


def test_icpkit_build_reports_the_feedback_and_the_outcomes_since(tmp_path: Path) -> None:
    """End to end through the CLI: verdicts logged before deals closed are judged by them."""
    import tomli_w
    from typer.testing import CliRunner

    from icpkit import datasets
    from icpkit.cli import app

    datasets.make_crm(200, seed=2).write_workspace(tmp_path)
    config = {"name": "small", "sources": {"accounts": {"path": "accounts.csv"},
                                           "deals": {"path": "deals.csv"}}}  # fmt: skip
    (tmp_path / "icpkit.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    deals = pl.read_csv(tmp_path / "deals.csv", try_parse_dates=True)
    closed = deals.filter(
        pl.col("stage").is_in(["won", "lost"]) & pl.col("closed_at").is_not_null()
    )
    first = closed.sort("closed_at").group_by("account_id", maintain_order=True).first()
    won = first.filter(pl.col("stage") == "won")["account_id"].cast(pl.Utf8).to_list()[:2]
    lost = first.filter(pl.col("stage") == "lost")["account_id"].cast(pl.Utf8).to_list()[:2]
    assert len(won) == 2 and len(lost) == 2
    before = str(closed["closed_at"].min() - timedelta(days=1))
    log = FeedbackLog(tmp_path)
    for account in won:  # rep says better, then a win: rep right
        log.append(verdict(account, "Tier 3", "Tier 1", day=before))
    for account in lost:  # rep says better, then a loss: ICP right
        log.append(verdict(account, "Tier 3", "Tier 1", day=before))
    log.append(verdict("A-agrees", "Tier 1", "Tier 1", day=before))
    result = CliRunner().invoke(app, ["build", "-w", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Feedback from the field" in result.stdout
    assert f"proved the rep right {len(won)} times and the ICP right {len(lost)} times" in (
        " ".join(result.stdout.split())
    )
    profile = IcpProfile.read(tmp_path / "icp-profile.json")
    assert profile.feedback is not None and profile.feedback.outcomes is not None
    assert (profile.feedback.outcomes.rep_right, profile.feedback.outcomes.icp_right) == (
        len(won), len(lost),
    )  # fmt: skip
    assert profile.feedback.agreement_rate == pytest.approx(1 / 5)
