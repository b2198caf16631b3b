"""What the RevOps page shows, as one typed result computed from the core's own typed results.

:func:`revops_overview` reads the stored versions and their profiles (tiers, backtest), the scored
tiers of the current accounts, the drift result, the data check and the reps' verdicts — never
another surface's output (the report's tables or the CLI's lines) — and returns a frozen
:class:`RevOpsOverview`: tier distribution, win rate by tier across versions, drift per
attribute, feedback agreement, the data-quality problems grouped with counts, and the latest
verdicts with account names, every time also in words ("3 hours ago").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from icpkit.data.load import CheckReport
from icpkit.lifecycle.drift import DriftResult
from icpkit.lifecycle.feedback import FeedbackEntry
from icpkit.lifecycle.store import VersionInfo
from icpkit.profile import FeedbackSection, IcpProfile
from icpkit.vocab import TIERS

VERSIONS_CHARTED = 4  # win rate by tier: the latest versions, oldest first
VERDICTS_SHOWN = 20


def _parse(at: str | datetime) -> datetime | None:
    if isinstance(at, datetime):
        parsed = at
    else:
        try:
            parsed = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def ago(at: str | datetime | None, now: datetime) -> str:
    """A time in words relative to ``now``: "just now", "3 hours ago", "yesterday", "2 weeks
    ago", "in 5 minutes" (a clock ahead); "" for a missing or unreadable time."""
    if at is None:
        return ""
    when = _parse(at)
    if when is None:
        return ""
    seconds = (now - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    units = (
        (60, "minute"),
        (3600, "hour"),
        (86400, "day"),
        (7 * 86400, "week"),
        (30 * 86400, "month"),
        (365 * 86400, "year"),
    )
    size, unit = units[0]
    for limit, name in units:
        if seconds >= limit:
            size, unit = limit, name
    n = int(seconds // size)
    if unit == "day" and n == 1 and not future:
        return "yesterday"
    text = f"{n} {unit}{'' if n == 1 else 's'}"
    return f"in {text}" if future else f"{text} ago"


@dataclass(frozen=True)
class TierCount:
    """How many of the current accounts the latest version puts in one tier."""

    tier: str
    count: int
    share: float


@dataclass(frozen=True)
class VersionRates:
    """The win rate of each tier for one version: the backtest's held-out rate when the
    version has one, else the success rate on its build data (``source`` says which)."""

    version: int
    source: str  # "backtest" | "build data" | "none"
    rates: tuple[float | None, ...]  # in TIERS order


@dataclass(frozen=True)
class AttributeShift:
    """PSI of one attribute between the build data and the current accounts."""

    attribute: str
    psi: float
    level: str
    used_by_profile: bool
    significant: bool


@dataclass(frozen=True)
class TierAgreement:
    """Reps' agreement with one shown tier."""

    tier: str
    n_reviewed: int
    n_agreed: int
    claimed_higher: int
    claimed_lower: int
    agreement_rate: float | None


@dataclass(frozen=True)
class QualityRow:
    """Data-quality problems of one kind in one place, with how many there are."""

    severity: str
    file: str
    column: str
    code: str
    count: int
    example: str  # the first problem's message


@dataclass(frozen=True)
class TableRows:
    """One loaded table and its row count."""

    table: str
    rows: int
    source: str
    reference: bool


@dataclass(frozen=True)
class VerdictRow:
    """One verdict from the field, with the account's name and the time in words."""

    at: str
    ago: str
    by: str
    account_id: str
    account_name: str
    tier_shown: str
    tier_claimed: str
    disputed: bool
    reason: str


@dataclass(frozen=True)
class VersionRow:
    version: int
    created_at: str
    ago: str
    note: str


@dataclass(frozen=True)
class RevOpsOverview:
    """Everything the RevOps page draws, typed (``to_dict`` for JSON)."""

    now: str
    version: int | None
    built_ago: str
    tiers: tuple[TierCount, ...]
    win_rates: tuple[VersionRates, ...]
    drift: tuple[AttributeShift, ...]
    agreement: tuple[TierAgreement, ...]
    agreement_rate: float | None
    n_verdicts: int
    tables: tuple[TableRows, ...]
    quality: tuple[QualityRow, ...]
    n_fatal: int
    n_warnings: int
    column_fates: tuple[tuple[str, int], ...]
    verdicts: tuple[VerdictRow, ...]
    versions: tuple[VersionRow, ...]

    @property
    def n_accounts(self) -> int:
        return sum(t.count for t in self.tiers)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "n_accounts": self.n_accounts}


def tier_counts(tiers: Sequence[str | None]) -> tuple[TierCount, ...]:
    """Accounts per tier (every tier listed, empty ones as 0), in TIERS order."""
    counts = Counter(t for t in tiers if t is not None)
    total = sum(counts.values())
    return tuple(TierCount(t, counts.get(t, 0), counts.get(t, 0) / total if total else 0.0)
                 for t in TIERS)  # fmt: skip


def version_rates(version: int, profile: IcpProfile) -> VersionRates:
    """The win rate per tier of one version, from its typed validation and tiers sections."""
    validation = profile.validation
    backtest = {
        k.group: k.value
        for k in (validation.kpis if validation is not None else [])
        if k.kpi == "win_rate" and k.value is not None
    }
    if any(t in backtest for t in TIERS):
        return VersionRates(version, "backtest", tuple(backtest.get(t) for t in TIERS))
    table = {r.tier: r.success_rate for r in (profile.tiers.table if profile.tiers else [])}
    if any(table.get(t) is not None for t in TIERS):
        return VersionRates(version, "build data", tuple(table.get(t) for t in TIERS))
    return VersionRates(version, "none", tuple(None for _ in TIERS))


def quality_rows(check: CheckReport) -> tuple[QualityRow, ...]:
    """The check's problems grouped by severity, file, column and kind, most first."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for p in check.problems:
        key = (p.severity, p.file, p.column or "", p.code)
        groups.setdefault(key, []).append(p.message)
    rows = [QualityRow(s, f, c, code, len(m), m[0]) for (s, f, c, code), m in groups.items()]
    return tuple(sorted(rows, key=lambda r: (r.severity != "fatal", -r.count, r.file, r.column)))


def revops_overview(
    *,
    now: datetime,
    versions: Sequence[VersionInfo],
    profiles: Mapping[int, IcpProfile],
    tiers: Sequence[str | None],
    drift: DriftResult | None,
    check: CheckReport | None,
    feedback: FeedbackSection | None,
    entries: Sequence[FeedbackEntry],
    names: Mapping[str, str],
) -> RevOpsOverview:
    """The RevOps page's content.

    Parameters
    ----------
    now : the time the words are relative to (aware).
    versions : the stored versions (any order).
    profiles : version number → profile, for the versions to chart (the latest few).
    tiers : the tier of every current account under the latest version.
    drift : the latest version's drift result (None: no version, or it could not be computed).
    check : ``icpkit check``'s report (None: not available).
    feedback : the verdicts' summary (None: no verdict yet); ``entries``: the verdicts.
    names : account id → account name, for the verdicts.
    """
    ordered = sorted(versions, key=lambda v: v.version)
    latest = ordered[-1] if ordered else None
    charted = [v.version for v in ordered if v.version in profiles][-VERSIONS_CHARTED:]
    shifts = tuple(
        sorted(
            (AttributeShift(a.attribute, a.psi, a.level, a.used_by_profile, a.significant)
             for a in (drift.population if drift else ())),
            key=lambda a: -a.psi,
        )
    )  # fmt: skip
    agreement = tuple(
        TierAgreement(t.tier, t.n_reviewed, t.n_agreed, t.claimed_higher, t.claimed_lower,
                      t.agreement_rate)
        for t in (feedback.tiers if feedback else [])
    )  # fmt: skip
    verdicts = tuple(
        VerdictRow(
            at=e.at,
            ago=ago(e.at, now),
            by=e.by_name or e.by_key,
            account_id=e.account_id,
            account_name=names.get(e.account_id, ""),
            tier_shown=e.tier_shown,
            tier_claimed=e.tier_claimed,
            disputed=e.disputed,
            reason=e.reason,
        )
        for e in list(reversed(entries))[:VERDICTS_SHOWN]
    )
    fates = Counter(c.fate for c in check.columns) if check else Counter()
    tables = (
        tuple(TableRows(t, n, check.sources.get(t, ""), t in check.references)
              for t, n in check.row_counts.items())
        if check is not None
        else ()
    )  # fmt: skip
    return RevOpsOverview(
        now=now.isoformat(timespec="seconds"),
        version=latest.version if latest else None,
        built_ago=ago(latest.created_at, now) if latest else "",
        tiers=tier_counts(tiers) if latest else (),
        win_rates=tuple(version_rates(n, profiles[n]) for n in charted),
        drift=shifts,
        agreement=agreement,
        agreement_rate=feedback.agreement_rate if feedback else None,
        n_verdicts=feedback.n_reviewed if feedback else 0,
        tables=tables,
        quality=quality_rows(check) if check else (),
        n_fatal=len(check.fatal) if check else 0,
        n_warnings=len(check.warnings) if check else 0,
        column_fates=tuple(sorted(fates.items(), key=lambda kv: -kv[1])),
        verdicts=verdicts,
        versions=tuple(
            VersionRow(v.version, v.created_at, ago(v.created_at, now), v.note)
            for v in reversed(ordered)
        ),
    )
