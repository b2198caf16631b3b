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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.atomic import write_text_atomic
from icpkit.errors import ConfigError
from icpkit.profile import (
    DisputedCriterion,
    FeedbackOutcomes,
    FeedbackSection,
    FeedbackTier,
)
from icpkit.themes.pii import Scrubber
from icpkit.vocab import TIERS

try:  # POSIX; elsewhere the thread lock alone serialises one server's writes
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

FEEDBACK_FILE = "feedback.jsonl"
MAX_REASON = 1000
EXAMPLES = 5
TOP_CRITERIA = 5
_THREAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class FeedbackEntry:
    """One verdict: who (key id and name), when, on which version, account and tiers, and why."""

    id: str
    at: str
    by_key: str
    by_name: str
    version: int
    account_id: str
    tier_shown: str
    tier_claimed: str
    reason: str
    fit_score: int | None = None
    criteria_met: list[str] = field(default_factory=list)

    @property
    def disputed(self) -> bool:
        return self.tier_claimed != self.tier_shown

    @property
    def day(self) -> date:
        return datetime.fromisoformat(self.at).date()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "disputed": self.disputed}


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
        by_name=Scrubber()(by_name),
        version=int(version),
        account_id=str(account_id),
        tier_shown=tier_shown,
        tier_claimed=tier_claimed,
        reason=scrub(reason),
        fit_score=fit_score,
        criteria_met=list(criteria_met),
    )


class FeedbackLog:
    """The verdicts of one workspace, in ``<workspace>/.icpkit/feedback.jsonl``."""

    def __init__(self, workspace: Path | str) -> None:
        self.path = Path(workspace) / ".icpkit" / FEEDBACK_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _THREAD_LOCK, open(self.path.with_suffix(".lock"), "a") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def append(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Add one verdict; earlier lines are kept byte for byte."""
        line = json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True) + "\n"
        with self._locked():
            text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
            if text and not text.endswith("\n"):
                text += "\n"
            write_text_atomic(self.path, text + line)
        return entry

    def read(self) -> tuple[list[FeedbackEntry], list[str]]:
        """Every readable verdict, oldest first, and a warning per line that could not be read."""
        if not self.path.exists():
            return [], []
        entries: list[FeedbackEntry] = []
        warnings: list[str] = []
        scrub = Scrubber()  # again on the way out: a hand-edited log must not leak either
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                entry = FeedbackEntry(**raw)
                entry.day  # noqa: B018 - a malformed date is a damaged line
                if entry.tier_shown not in TIERS or entry.tier_claimed not in TIERS:
                    raise ValueError("unknown tier")
            except (ValueError, TypeError) as exc:
                warnings.append(f"{FEEDBACK_FILE} line {number} skipped: {type(exc).__name__}")
                continue
            entries.append(replace(entry, reason=scrub(entry.reason), by_name=scrub(entry.by_name)))
        return entries, warnings


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
