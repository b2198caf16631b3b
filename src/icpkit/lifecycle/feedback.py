"""Feedback from the field: reps mark an account's tier as right or wrong, and the next build
reports how often they agreed, which criteria they disputed, and who later outcomes proved right.

The log is ``<workspace>/.icpkit/feedback.jsonl``, one JSON object per verdict, append-only. Each
append takes a file lock (and a thread lock), reads the log, and replaces it atomically with the
new line added, so a crash never leaves half a line and two servers never interleave lines.

Who gave a verdict is the API key's id and name (never an e-mail: the name is scrubbed too);
the reason is free text and goes through the PII scrubber of :mod:`icpkit.themes.pii` (e-mails,
phones, links and the workspace's contact names removed, cut to a quote's length) before it is
stored, so neither the log nor anything shown from it holds personal data.

**Definitions** (what :func:`summarize` counts). Only the latest verdict of each reviewer on each
account counts (a rep who changes their mind is counted once). For each tier *shown*, the
agreement rate is the share of those verdicts whose claimed tier equals the shown tier; the others
are disputes, split into "claimed higher" (a better tier) and "claimed lower". A criterion is
disputed as often as disputed accounts met it (criteria met are stored with each verdict). For a
disputed account whose first deal closed after the verdict, a win proves right whoever claimed the
better tier and a loss whoever claimed the worse one.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, computed_field

from icpkit.atomic import locked_beside, write_text_atomic
from icpkit.data.controls import strip_controls
from icpkit.errors import ConfigError
from icpkit.profile import (
    DisputedCriterion,
    FeedbackOutcomes,
    FeedbackSection,
    FeedbackTier,
)
from icpkit.themes.pii import Scrubber
from icpkit.vocab import TIERS, TierName

FEEDBACK_FILE = "feedback.jsonl"
MAX_REASON = 1000
EXAMPLES = 5
TOP_CRITERIA = 5
_THREAD_LOCK = threading.Lock()


class FeedbackEntry(BaseModel):
    """One verdict: who (key id and name), when, on which version, account and tiers, and why.

    The one type of a verdict: the log stores it, summaries read it and the API returns it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    at: str = Field(description="When, ISO 8601 in UTC.")
    by_key: str = Field(description="The API key's id (never an e-mail).")
    by_name: str = Field(description="The key's name, scrubbed of personal data.")
    version: int = Field(description="The profile version whose tier was shown.")
    account_id: str
    tier_shown: TierName
    tier_claimed: TierName
    reason: str = Field(description="Why, without e-mails, phones, links or contact names.")
    fit_score: int | None = None
    criteria_met: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def disputed(self) -> bool:
        """True when the rep claims another tier than the one shown."""
        return self.tier_claimed != self.tier_shown

    @property
    def day(self) -> date:
        return datetime.fromisoformat(self.at).date()

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


def new_entry(
    *,
    by_key: str,
    by_name: str,
    version: int,
    account_id: str,
    tier_shown: str,
    tier_claimed: str,
    reason: str,
    fit_score: int | None = None,
    criteria_met: Sequence[str] = (),
    contact_names: Iterable[str] = (),
    scrub: Scrubber | None = None,
) -> FeedbackEntry:
    """A verdict checked and scrubbed: tiers must be icpkit's, the reason loses its PII
    (``scrub``, or a scrubber of ``contact_names``)."""
    for label, tier in (("shown", tier_shown), ("claimed", tier_claimed)):
        if tier not in TIERS:
            raise ConfigError(f"the {label} tier must be one of {', '.join(TIERS)}; got {tier!r}")
    if len(reason) > MAX_REASON:
        raise ConfigError(f"the reason is longer than {MAX_REASON} characters")
    scrub = scrub or Scrubber(contact_names)
    return FeedbackEntry(
        id=secrets.token_hex(6),
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        by_key=by_key,
        by_name=Scrubber()(strip_controls(by_name)),
        version=int(version),
        account_id=str(account_id),
        tier_shown=tier_shown,
        tier_claimed=tier_claimed,
        reason=scrub(strip_controls(reason)),
        fit_score=fit_score,
        criteria_met=list(criteria_met),
    )


class FeedbackLog:
    """The verdicts of one workspace, in ``<workspace>/.icpkit/feedback.jsonl``."""

    def __init__(self, workspace: Path | str) -> None:
        self.path = Path(workspace) / ".icpkit" / FEEDBACK_FILE

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return locked_beside(self.path, _THREAD_LOCK)

    def append(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Add one verdict; earlier lines are kept byte for byte."""
        line = json.dumps(
            entry.model_dump(exclude={"disputed"}), ensure_ascii=False, sort_keys=True
        )
        line += "\n"
        with self._locked():
            text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
            if text and not text.endswith("\n"):
                text += "\n"
            write_text_atomic(self.path, text + line)
        return entry

    def read(self) -> tuple[list[FeedbackEntry], list[str]]:
        """Every readable verdict, oldest first, and warnings: one for all the damaged lines
        (cut JSON, a version that is not a number, a field of the wrong type), which are skipped
        so that one bad line never stops the API, the RevOps page or a build."""
        if not self.path.exists():
            return [], []
        entries: list[FeedbackEntry] = []
        damaged: dict[int, str] = {}
        scrub = Scrubber()  # again on the way out: a hand-edited log must not leak either
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = _entry_from(json.loads(line))
            except _Damaged as exc:
                damaged[number] = str(exc)
                continue
            except ValueError:
                damaged[number] = "not JSON (a cut or damaged line)"
                continue
            reason, name = strip_controls(entry.reason), strip_controls(entry.by_name)
            entries.append(
                entry.model_copy(update={"reason": scrub(reason), "by_name": scrub(name)})
            )
        return entries, [damaged_warning(damaged)] if damaged else []


class _Damaged(ValueError):
    """A log line that is JSON but not a verdict; the message says which field is wrong."""


_TEXT_FIELDS = ("id", "at", "by_key", "by_name", "account_id", "tier_shown", "tier_claimed")


def _entry_from(raw: Any) -> FeedbackEntry:
    """A verdict from one parsed log line, every field checked for its type."""
    if not isinstance(raw, dict):
        raise _Damaged("not a JSON object")
    unknown = set(raw) - set(FeedbackEntry.model_fields)
    missing = {*_TEXT_FIELDS, "version", "reason"} - set(raw)
    if unknown or missing:
        raise _Damaged("unknown or missing fields")
    for name in _TEXT_FIELDS:
        if not isinstance(raw[name], str):
            raise _Damaged(f"{name} is not text")
    version = raw["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise _Damaged("the version is not a number")
    if not isinstance(raw["reason"], str):
        raise _Damaged("reason is not text")
    score = raw.get("fit_score")
    if score is not None and (not isinstance(score, int) or isinstance(score, bool)):
        raise _Damaged("fit_score is not a whole number")
    criteria = raw.get("criteria_met", [])
    if not isinstance(criteria, list) or not all(isinstance(c, str) for c in criteria):
        raise _Damaged("criteria_met is not a list of rules")
    if raw["tier_shown"] not in TIERS or raw["tier_claimed"] not in TIERS:
        raise _Damaged("an unknown tier")
    entry = FeedbackEntry.model_validate(raw)
    try:
        entry.day  # noqa: B018 - a malformed date is a damaged line
    except ValueError:
        raise _Damaged("the date is not a date") from None
    return entry


def damaged_warning(damaged: dict[int, str]) -> str:
    """One data-quality warning for every damaged line of the log: how many, where, and why."""
    numbers = sorted(damaged)
    where = ", ".join(str(n) for n in numbers[:10]) + (", …" if len(numbers) > 10 else "")
    why = "; ".join(sorted(set(damaged.values())))
    noun = "line" if len(numbers) == 1 else "lines"
    return f"{FEEDBACK_FILE}: {len(numbers)} damaged {noun} skipped ({noun} {where}): {why}"


def latest_verdicts(entries: Sequence[FeedbackEntry]) -> list[FeedbackEntry]:
    """The latest verdict of each reviewer on each account, in the order given."""
    latest: dict[tuple[str, str], FeedbackEntry] = {}
    for entry in entries:
        latest[(entry.by_key, entry.account_id)] = entry
    return list(latest.values())


def summarize(
    entries: Sequence[FeedbackEntry],
    deals: pl.DataFrame | None = None,
    *,
    warnings: Sequence[str] = (),
    as_of: date | None = None,
) -> FeedbackSection | None:
    """The feedback section of a profile (None without any verdict); see the module's definitions.

    ``deals`` (canonical deals table) gives the outcomes since each verdict; ``as_of`` keeps only
    verdicts given on or before that date (a build from the past).
    """
    if as_of is not None:
        entries = [e for e in entries if e.day <= as_of]
    if not entries:
        return None
    counted = latest_verdicts(entries)
    tiers = []
    for tier in TIERS:
        shown = [e for e in counted if e.tier_shown == tier]
        if not shown:
            continue
        agreed = sum(not e.disputed for e in shown)
        higher = sum(TIERS.index(e.tier_claimed) < TIERS.index(tier) for e in shown)
        tiers.append(
            FeedbackTier(
                tier=tier,
                n_reviewed=len(shown),
                n_agreed=agreed,
                n_disputed=len(shown) - agreed,
                claimed_higher=higher,
                claimed_lower=len(shown) - agreed - higher,
                agreement_rate=agreed / len(shown),
            )
        )
    disputed = [e for e in counted if e.disputed]
    return FeedbackSection(
        n_entries=len(entries),
        n_reviewed=len(counted),
        n_accounts=len({e.account_id for e in counted}),
        n_reviewers=len({e.by_key for e in counted}),
        versions=sorted({e.version for e in entries}),
        first=min(e.at for e in entries)[:10],
        last=max(e.at for e in entries)[:10],
        tiers=tiers,
        criteria=_disputed_criteria(counted),
        outcomes=_outcomes(disputed, deals) if disputed else None,
        examples=[_example(e) for e in sorted(disputed, key=lambda e: e.at, reverse=True)][
            :EXAMPLES
        ],
        warnings=list(warnings),
    )


def _example(entry: FeedbackEntry) -> str:
    head = f"{entry.tier_shown} → {entry.tier_claimed}"
    return f"{head}: {entry.reason}" if entry.reason else head


def _disputed_criteria(counted: Sequence[FeedbackEntry]) -> list[DisputedCriterion]:
    reviewed = Counter(c for e in counted for c in set(e.criteria_met))
    disputed = Counter(c for e in counted if e.disputed for c in set(e.criteria_met))
    rows = [
        DisputedCriterion(
            rule=rule, n_disputed=n, n_reviewed=reviewed[rule], dispute_share=n / reviewed[rule]
        )
        for rule, n in disputed.items()
    ]
    rows.sort(key=lambda r: (-r.n_disputed, -r.dispute_share, r.rule))
    return rows[:TOP_CRITERIA]


def _outcomes(disputed: Sequence[FeedbackEntry], deals: pl.DataFrame | None) -> FeedbackOutcomes:
    """Who the first deal closed after each disputed verdict proved right."""
    n = len(disputed)
    if deals is None or not {"account_id", "stage", "closed_at"} <= set(deals.columns):
        return FeedbackOutcomes(n_disputed=n, pending=n, dated=False)
    closed = (
        deals.select(
            pl.col("account_id").cast(pl.Utf8),
            pl.col("stage").cast(pl.Utf8),
            pl.col("closed_at").cast(pl.Date, strict=False),
        )
        .filter(pl.col("stage").is_in(["won", "lost"]) & pl.col("closed_at").is_not_null())
        .filter(pl.col("account_id").is_in([e.account_id for e in disputed]))
        .sort("closed_at")
    )
    by_account: dict[str, list[tuple[date, str]]] = {}
    for account, stage, closed_at in closed.iter_rows():
        by_account.setdefault(account, []).append((closed_at, stage))
    rep = icp = pending = 0
    for entry in disputed:
        later = [stage for day, stage in by_account.get(entry.account_id, []) if day > entry.day]
        if not later:
            pending += 1
            continue
        rep_says_better = TIERS.index(entry.tier_claimed) < TIERS.index(entry.tier_shown)
        if (later[0] == "won") == rep_says_better:
            rep += 1
        else:
            icp += 1
    return FeedbackOutcomes(n_disputed=n, rep_right=rep, icp_right=icp, pending=pending)
