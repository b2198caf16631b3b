"""Drift and "time to revise": is a saved ICP version still right for today's market?

Three signals, each with its own evidence:

- **Population stability (PSI)** per attribute between the accounts the version was trained on and
  the current accounts (or a new prospect list), computed in :mod:`icpkit.lifecycle.stability`.
- **Tier performance decay:** the Tier-1 win rate on recent deals against the one at build time,
  with Wilson intervals and a one-sided Fisher exact test. When it decays, the attributes whose
  relation to winning changed (per-bin odds ratios, Woolf-style) name what changed in the market.
- **Age:** days since the version was created; review after ~90 days, rebuild after ~180.

The intervals and the Fisher test come from :mod:`icpkit.stats`; PSI and its bins from
:mod:`icpkit.lifecycle.stability`.

``drift_report`` turns these into a verdict, keep | review | rebuild, with reasons in words; when
the evidence to say keep is missing (no closed deals since the build, no attribute to compare) the
verdict is "cannot tell", never keep.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
import polars as pl

from icpkit.config import DriftConfig
from icpkit.errors import SchemaError
from icpkit.lifecycle.stability import (
    AttributeDrift,
    Binned,
    account_attributes,
    bin_attribute,
    bin_counts,
    population_drift,
    profile_attributes,
)
from icpkit.profile import IcpProfile
from icpkit.stats import Estimate, fisher_lower_p, rate

Verdict = Literal["keep", "cannot tell", "review", "rebuild"]
# "cannot tell" outranks keep: without evidence that the top tier still wins, never say keep.
_SEVERITY = {"keep": 0, "cannot tell": 1, "review": 2, "rebuild": 3}
__all__ = [
    "DriftResult",
    "Reason",
    "TierDecay",
    "Verdict",
    "WinPatternShift",
    "drift_report",
    "tier_decay",
    "win_pattern_drift",
]


# ---------------------------------------------------------------------------------------------
# Tier performance decay


@dataclass(frozen=True)
class TierDecay:
    """The top tier's win rate on recent deals against the one at build time."""

    tier: str
    build: Estimate
    recent: Estimate
    p_value: float | None
    decayed: bool
    significant: bool
    build_source: str  # "training deals" or "profile validation"

    def describe(self) -> str:
        test = "" if self.p_value is None else f", one-sided Fisher p = {self.p_value:.3g}"
        return (
            f"{self.tier} win rate {self.recent.text(percent=True)} on recent deals vs "
            f"{self.build.text(percent=True)} at build time ({self.build_source}{test})"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["build"], out["recent"] = self.build.to_dict(), self.recent.to_dict()
        return out


def _closed_counts(deals: pl.DataFrame, tier: str) -> tuple[int, int]:
    _require(deals, ("stage", "tier"), "scored deals")
    stage = deals.filter(pl.col("tier") == tier)["stage"].cast(pl.Utf8).str.to_lowercase()
    won = int((stage == "won").sum())
    return won, won + int((stage == "lost").sum())


def _build_rate(
    profile: IcpProfile, train_deals: pl.DataFrame | None, tier: str
) -> tuple[Estimate, str] | None:
    if train_deals is not None:
        k, n = _closed_counts(train_deals, tier)
        return rate("build", "win_rate", k, n), "training deals"
    row = None if profile.validation is None else profile.validation.kpi(tier, "win_rate")
    if row is not None and row.value is not None:
        return rate("build", "win_rate", round(row.value * row.n), row.n), "profile validation"
    return None


def tier_decay(
    profile: IcpProfile,
    recent_scored_deals: pl.DataFrame,
    train_scored_deals: pl.DataFrame | None = None,
    *,
    tier: str = "Tier 1",
    settings: DriftConfig | None = None,
) -> TierDecay | None:
    """Compare a tier's win rate on recent deals with its win rate at build time.

    The build-time rate comes from ``train_scored_deals`` (deals before the build, with the tier
    of their account) or else from the profile's stored backtest. None when neither is known.
    """
    s = settings or DriftConfig()
    built = _build_rate(profile, train_scored_deals, tier)
    if built is None or built[0].n == 0:
        return None
    build, source = built
    k, n = _closed_counts(recent_scored_deals, tier)
    recent = rate("recent", "win_rate", k, n)
    p_value = None
    if n and build.value is not None:
        p_value = fisher_lower_p(k, n, round(build.value * build.n), build.n)
    decayed = (
        n >= s.min_closed
        and recent.value is not None
        and build.value is not None
        and recent.value < build.value * (1 - s.relative_decay)
    )
    significant = bool(decayed and p_value is not None and p_value < s.alpha)
    return TierDecay(tier, build, recent, p_value, bool(decayed), significant, source)


@dataclass(frozen=True)
class WinPatternShift:
    """Whether an attribute's relation to winning changed between build time and recent deals.

    Per bin of the attribute, the log odds ratio of winning (recent vs build time) is compared with
    the pooled one (inverse-variance weighted, as in Woolf's test of homogeneity); ``statistic``
    is the largest standardised difference |z| and ``p_value`` its two-sided p-value, Bonferroni
    corrected over the ``n_bins`` bins. An overall change in win rate moves every bin alike and is
    not a shift here; the market moving from one industry or tag to another is. ``bins`` lists
    the bins that changed most.
    """

    attribute: str
    kind: str
    statistic: float
    n_bins: int
    p_value: float
    significant: bool
    used_by_profile: bool
    bins: tuple[dict[str, Any], ...] = field(default=())

    def describe(self) -> str:
        moved = ", ".join(
            f"{b['bin']} {b['win_rate_build']:.0%} → {b['win_rate_recent']:.0%}"
            for b in self.bins[:2]
        )
        return f"{self.attribute} (win rate {moved}; p = {self.p_value:.2g})"


def win_pattern_drift(
    train_scored_deals: pl.DataFrame,
    recent_scored_deals: pl.DataFrame,
    train_accounts: pl.DataFrame,
    current_accounts: pl.DataFrame,
    used: set[str] | None = None,
    settings: DriftConfig | None = None,
    min_bin_deals: int = 5,
) -> list[WinPatternShift]:
    """Attributes whose relation to winning changed, most significant first.

    This names *what* changed when the top tier stops winning. Closed deals of each period are
    joined with their account's attributes; bins are learnt on the build-time deals; bins with
    fewer than ``min_bin_deals`` closed deals in either period are left out.
    """
    s = settings or DriftConfig()
    used = used or set()
    before = _closed_with_attributes(train_scored_deals, train_accounts)
    recent = _closed_with_attributes(recent_scored_deals, current_accounts)
    if before.height < s.min_closed or recent.height < s.min_closed:
        return []
    won_b, won_r = before["_won"].to_numpy(), recent["_won"].to_numpy()
    rows = []
    for attr in account_attributes(train_accounts, current_accounts):
        binned = bin_attribute(before[attr], recent[attr], s)
        shift = _woolf(binned, won_b, won_r, min_bin_deals)
        if shift is not None:
            rows.append(
                WinPatternShift(attr, binned.kind, *shift[:3], False, attr in used, shift[3])
            )
    cutoff = s.alpha / max(1, len(rows))
    rows = [replace(r, significant=r.p_value < cutoff) for r in rows]
    return sorted(rows, key=lambda r: r.p_value)


def _closed_with_attributes(deals: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    _require(deals, ("account_id", "stage"), "scored deals")
    stage = pl.col("stage").cast(pl.Utf8).str.to_lowercase()
    closed = deals.filter(stage.is_in(("won", "lost"))).select(
        "account_id", (stage == "won").alias("_won")
    )
    return closed.join(accounts, on="account_id", how="inner")


def _woolf(
    binned: Binned, won_b: np.ndarray, won_r: np.ndarray, min_bin_deals: int
) -> tuple[float, int, float, tuple[dict[str, Any], ...]] | None:
    """Per-bin log odds ratios (recent vs build, 0.5 continuity) against their pooled value."""
    from scipy.stats import norm

    k = len(binned.labels)
    wb = bin_counts(binned.codes_train[won_b[binned.rows_train]], k)
    nb = bin_counts(binned.codes_train, k)
    wr = bin_counts(binned.codes_current[won_r[binned.rows_current]], k)
    nr = bin_counts(binned.codes_current, k)
    keep = (nb >= min_bin_deals) & (nr >= min_bin_deals)
    if keep.sum() < 2:
        return None
    a, b = wr[keep] + 0.5, nr[keep] - wr[keep] + 0.5
    c, d = wb[keep] + 0.5, nb[keep] - wb[keep] + 0.5
    lor = np.log(a * d / (b * c))
    weight = 1.0 / (1 / a + 1 / b + 1 / c + 1 / d)
    pooled = float((weight * lor).sum() / weight.sum())
    residual = np.sqrt(weight) * (lor - pooled)
    # The largest standardised residual, Bonferroni over the bins: a market shift usually moves a
    # few bins (one industry, one tag) a lot, which an omnibus χ² over every bin dilutes.
    statistic = float(np.abs(residual).max())
    df = int(keep.sum())
    labels = [lab for lab, kept in zip(binned.labels, keep, strict=True) if kept]
    top = tuple(
        {
            "bin": labels[i],
            "win_rate_build": float(wb[keep][i] / nb[keep][i]),
            "n_build": int(nb[keep][i]),
            "win_rate_recent": float(wr[keep][i] / nr[keep][i]),
            "n_recent": int(nr[keep][i]),
        }
        for i in np.argsort(-np.abs(residual))[:3]
    )
    p_value = min(1.0, df * float(2 * norm.sf(statistic)))
    return statistic, df, p_value, top


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{what}: columns {missing} are missing (found {frame.columns})")


# ---------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class Reason:
    """One reason behind the verdict: its severity, the words, and the attributes it names."""

    severity: Verdict
    text: str
    attributes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class DriftResult:
    """The drift verdict (keep | review | rebuild), its reasons and the evidence behind them."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    population: tuple[AttributeDrift, ...]
    win_patterns: tuple[WinPatternShift, ...]
    decay: TierDecay | None
    age_days: int | None
    created_at: str
    settings: DriftConfig

    def named_attributes(self) -> list[str]:
        """Attributes named by the reasons for review or rebuild, most important first."""
        names: list[str] = []
        for reason in sorted(self.reasons, key=lambda r: -_SEVERITY[r.severity]):
            names += [a for a in reason.attributes if a not in names]
        return names

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "verdict": self.verdict,
            "reasons": [asdict(r) for r in self.reasons],
            "population": [asdict(a) for a in self.population],
            "win_patterns": [asdict(w) for w in self.win_patterns],
            "decay": None if self.decay is None else self.decay.to_dict(),
            "age_days": self.age_days,
            "created_at": self.created_at,
            "settings": self.settings.model_dump(),
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per attribute and check: 'population' rows carry PSI and its level, 'win
        pattern' rows the test of a changed relation to winning."""
        rows = [
            {
                "check": "population",
                "attribute": a.attribute,
                "kind": a.kind,
                "psi": a.psi,
                "level": a.level,
                "p_value": a.p_value,
                "significant": a.significant,
                "used_by_profile": a.used_by_profile,
            }
            for a in self.population
        ]
        rows += [
            {
                "check": "win pattern",
                "attribute": w.attribute,
                "kind": w.kind,
                "psi": None,
                "level": "shifted" if w.significant else "stable",
                "p_value": w.p_value,
                "significant": w.significant,
                "used_by_profile": w.used_by_profile,
            }
            for w in self.win_patterns
        ]
        schema = {
            "check": pl.Utf8,
            "attribute": pl.Utf8,
            "kind": pl.Utf8,
            "psi": pl.Float64,
            "level": pl.Utf8,
            "p_value": pl.Float64,
            "significant": pl.Boolean,
            "used_by_profile": pl.Boolean,
        }
        return pl.DataFrame(rows, schema=schema)

    def summary_lines(self) -> list[str]:
        lines = [f"Verdict: {self.verdict.upper()}"]
        lines += [f"  [{r.severity}] {r.text}" for r in self.reasons]
        if not self.reasons and self.verdict == "keep":
            lines.append(
                "  No attribute drifted, the top tier still wins as at build time, and the "
                "version is young."
            )
        return lines

    def to_text(self) -> str:
        return "\n".join(self.summary_lines())


def drift_report(
    profile: IcpProfile,
    train_accounts: pl.DataFrame,
    current_accounts: pl.DataFrame,
    recent_scored_deals: pl.DataFrame | None = None,
    *,
    train_scored_deals: pl.DataFrame | None = None,
    now: date | datetime | None = None,
    settings: DriftConfig | None = None,
) -> DriftResult:
    """Is this ICP version still right? A verdict (keep | review | rebuild) with reasons.

    Parameters
    ----------
    profile : IcpProfile
        The version to check.
    train_accounts : pl.DataFrame
        The accounts the version was built from.
    current_accounts : pl.DataFrame
        Today's accounts, or a new prospect list (the accounts shape).
    recent_scored_deals : pl.DataFrame, optional
        Recent deals with ``account_id``, ``stage`` and the ``tier`` the version gives their
        account; enables the tier-decay check.
    train_scored_deals : pl.DataFrame, optional
        The deals the version was built on, with tiers the same way; gives the build-time win rate
        (else the profile's stored backtest is used) and the win-pattern test that names
        the attributes behind a decay.
    now : date or datetime, optional
        Today (default: the current UTC date); the version's age is counted up to it.
    settings : DriftConfig, optional
        Thresholds.
    """
    s = settings or DriftConfig()
    used = profile_attributes(profile)
    population = population_drift(train_accounts, current_accounts, used, s)
    decay, patterns = None, []
    if recent_scored_deals is not None:
        _require(recent_scored_deals, ("account_id", "stage", "tier"), "recent scored deals")
        decay = tier_decay(profile, recent_scored_deals, train_scored_deals, settings=s)
        if train_scored_deals is not None:
            patterns = win_pattern_drift(
                train_scored_deals, recent_scored_deals, train_accounts, current_accounts, used, s
            )
    age = _age_days(profile.created_at, now)
    reasons = [
        *_population_reasons(population, s),
        *_decay_reasons(decay, patterns),
        *_age_reasons(age, s),
        *_untested_reasons(decay, population, recent_scored_deals, s),
    ]
    verdict: Verdict = max((r.severity for r in reasons), key=_SEVERITY.__getitem__, default="keep")
    return DriftResult(
        verdict,
        tuple(reasons),
        tuple(population),
        tuple(patterns),
        decay,
        age,
        profile.created_at,
        s,
    )


def _untested_reasons(
    decay: TierDecay | None,
    population: list[AttributeDrift],
    recent: pl.DataFrame | None,
    s: DriftConfig,
) -> list[Reason]:
    """What could not be checked: each is a 'cannot tell', so the verdict is never a bare keep."""
    out = []
    if recent is None or recent.height == 0:
        out.append(
            Reason(
                "cannot tell",
                "no deals since the build: whether the top tier still wins cannot be checked "
                "(run drift again once deals created after the build have closed)",
            )
        )
    elif decay is None:
        out.append(
            Reason(
                "cannot tell",
                "no build-time win rate of the top tier to compare recent deals with",
            )
        )
    elif decay.recent.n < s.min_closed:
        out.append(
            Reason(
                "cannot tell",
                f"only {decay.recent.n} closed {decay.tier} deals since the build (at least "
                f"{s.min_closed} are needed to judge whether it still wins)",
            )
        )
    if not population:
        out.append(
            Reason(
                "cannot tell",
                "no attribute of the training accounts could be compared with the current "
                "accounts (no shared, comparable column)",
            )
        )
    return out


def _age_days(created_at: str, now: date | datetime | None) -> int | None:
    try:
        created = datetime.fromisoformat(created_at)
    except ValueError:
        return None
    today = now or datetime.now(UTC)
    today_date = today.date() if isinstance(today, datetime) else today
    return (today_date - created.date()).days


def _population_reasons(population: list[AttributeDrift], s: DriftConfig) -> list[Reason]:
    out = []
    for a in population:
        if not a.significant:
            continue  # a PSI this size is within sampling noise for these sample sizes
        if a.level == "major":
            severity: Verdict = "rebuild" if a.used_by_profile else "review"
            role = "an attribute the ICP uses" if a.used_by_profile else "not used by the ICP"
            out.append(
                Reason(severity, f"accounts shifted on {a.describe()}; {role}", (a.attribute,))
            )
        elif a.level == "moderate" and a.used_by_profile:
            out.append(
                Reason(
                    "review",
                    f"accounts moved on {a.describe()}; an attribute the ICP uses",
                    (a.attribute,),
                )
            )
    return out


def _decay_reasons(decay: TierDecay | None, patterns: list[WinPatternShift]) -> list[Reason]:
    shifted = [w for w in patterns if w.significant][:3]
    names = tuple(w.attribute for w in shifted)
    where = (
        ("; what wins changed on " + "; ".join(w.describe() for w in shifted)) if shifted else ""
    )
    if decay is not None and decay.significant:
        if not shifted and patterns:
            # The decay is established; point at the likeliest cause, said to be tentative.
            top = patterns[0]
            names = (top.attribute,)
            where = (
                f"; the strongest change in what wins is on {top.describe()} "
                "(not significant on its own)"
            )
        text = f"the ICP stopped predicting wins: {decay.describe()}{where}"
        return [Reason("rebuild", text, names)]
    if decay is not None and decay.decayed:
        text = f"the top tier wins less, not yet significantly: {decay.describe()}{where}"
        return [Reason("review", text, names)]
    used = [w for w in shifted if w.used_by_profile]
    if used:
        text = "what wins changed on attributes the ICP uses: " + "; ".join(
            w.describe() for w in used
        )
        return [Reason("review", text, tuple(w.attribute for w in used))]
    return []


def _age_reasons(age: int | None, s: DriftConfig) -> list[Reason]:
    if age is None:
        return []
    if age > s.rebuild_after_days:
        return [
            Reason(
                "rebuild", f"the version is {age} days old (rebuild after {s.rebuild_after_days})"
            )
        ]
    if age > s.review_after_days:
        return [
            Reason("review", f"the version is {age} days old (review after {s.review_after_days})")
        ]
    return []
