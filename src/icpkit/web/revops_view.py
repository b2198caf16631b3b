"""The RevOps page's data and charts: :func:`icpkit.lifecycle.overview.revops_overview` over the
service's typed results, drawn as SVG by the report's own chart functions
(:mod:`icpkit.report.svg`), so the page and the report look alike."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from icpkit import pipeline
from icpkit.data.load import CheckReport
from icpkit.errors import IcpError
from icpkit.lifecycle.drift import DriftResult
from icpkit.lifecycle.feedback import FeedbackLog, summarize
from icpkit.lifecycle.overview import RevOpsOverview, revops_overview
from icpkit.profile import IcpProfile
from icpkit.report.svg import ACCENT, Bar, column_bars, grouped_bars, percent
from icpkit.vocab import TIERS
from icpkit.web.service import Service

# Older versions in lighter shades of the accent, the latest in the accent itself.
SHADES = ("#c9d3dc", "#93a9bb", "#5b7f9c", ACCENT)
WIDTH = 250


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    caption: str
    svg: str


@dataclass(frozen=True)
class RevOpsPage:
    overview: RevOpsOverview
    drift: DriftResult | None
    drift_error: str | None
    charts: tuple[Chart, ...]


_CHECKS: weakref.WeakKeyDictionary[Service, tuple[object, CheckReport]] = (
    weakref.WeakKeyDictionary()
)


def check_report(service: Service) -> CheckReport:
    """``icpkit check``'s typed report, computed once per loaded workspace (a build from the
    web reloads the data, and the check is made again)."""
    crm = service.crm()
    cached = _CHECKS.get(service)
    if cached is None or cached[0] is not crm:
        cached = (crm, service.workspace.check())
        _CHECKS[service] = cached
    return cached[1]


def gather(service: Service, now: datetime | None = None) -> RevOpsPage:
    """Read every typed result the page needs and compute its overview and charts."""
    now = now or datetime.now(UTC)
    infos = service.workspace.store.list()
    profiles: dict[int, IcpProfile] = {}
    for info in sorted(infos, key=lambda v: v.version)[-4:]:
        number, profile = service.profile(info.version)
        profiles[number] = profile
    tiers: list[str | None] = []
    drift: DriftResult | None = None
    drift_error = None
    if infos:
        _, scored = service.scored()
        tiers = scored.get_column("tier").cast(pl.Utf8).to_list()
        try:
            drift = pipeline.drift_check(service.workspace, "latest")
        except IcpError as exc:
            drift_error = service.public(exc.message)
    entries, warnings = FeedbackLog(service.root).read()
    feedback = summarize(entries, service.crm().deals, warnings=warnings) if entries else None
    accounts = service.accounts()
    names = (
        dict(zip(accounts["account_id"].to_list(),
                 accounts["name"].cast(pl.Utf8).fill_null("").to_list(), strict=True))
        if "name" in accounts.columns
        else {}
    )  # fmt: skip
    overview = revops_overview(
        now=now,
        versions=infos,
        profiles=profiles,
        tiers=tiers,
        drift=drift,
        check=check_report(service),
        feedback=feedback,
        entries=entries,
        names=names,
    )
    return RevOpsPage(overview, drift, drift_error, charts(overview))


def charts(o: RevOpsOverview) -> tuple[Chart, ...]:
    """The four charts, each only when it has data."""
    out: list[Chart] = []
    if o.tiers and o.n_accounts:
        bars = [Bar(t.tier, t.share, label=f"{t.count:,}") for t in o.tiers]
        out.append(
            Chart(
                "tiers",
                "Tier distribution",
                f"Share of the {o.n_accounts:,} current accounts in each tier of version "
                f"{o.version} (bar labels: accounts).",
                column_bars(
                    bars,
                    x_title="tier",
                    y_title="share of accounts",
                    key="Tier distribution",
                    width=WIDTH,
                ),
            )
        )
    rated = [v for v in o.win_rates if v.source != "none"]
    if rated:
        shades = SHADES[-len(rated) :]
        series = [
            (f"v{v.version}", shade, [r or 0.0 for r in v.rates])
            for v, shade in zip(rated, shades, strict=True)
        ]
        sources = sorted({v.source for v in rated})
        out.append(
            Chart(
                "win-rates",
                "Win rate by tier across versions",
                "Win rate of each tier, "
                + " and ".join(
                    "held-out deals (backtest)" if s == "backtest" else "the build data (in-sample)"
                    for s in sources
                )
                + "; a missing rate is drawn as 0.",
                grouped_bars(
                    list(TIERS),
                    series,
                    x_title="win rate",
                    y_title="tier",
                    key="Win rate by tier across versions",
                    width=WIDTH,
                ),
            )
        )
    if o.drift:
        shown = o.drift[:8]
        out.append(
            Chart(
                "drift",
                "Drift per attribute",
                "Population stability index (PSI) of each attribute, build data vs today's "
                "accounts: under 0.1 stable, 0.1–0.25 moderate, above 0.25 major (the axis "
                "reaches 0.25 at least).",
                grouped_bars(
                    [a.attribute for a in shown],
                    [("PSI", ACCENT, [a.psi for a in shown])],
                    x_title="PSI",
                    y_title="attribute",
                    key="Drift per attribute",
                    width=WIDTH,
                    fmt=lambda x: f"{x:.2f}",
                    least=0.25,
                ),
            )
        )
    rated_tiers = [a for a in o.agreement if a.agreement_rate is not None]
    if rated_tiers:
        bars = [
            Bar(a.tier, a.agreement_rate or 0.0,
                label=f"{percent(a.agreement_rate or 0.0)} of {a.n_reviewed}")
            for a in rated_tiers
        ]  # fmt: skip
        out.append(
            Chart(
                "agreement",
                "Feedback agreement",
                "Share of reps' verdicts that confirmed the tier shown, per tier (latest verdict "
                "per rep and account).",
                column_bars(
                    bars,
                    x_title="tier shown",
                    y_title="agreed",
                    key="Feedback agreement",
                    width=WIDTH,
                    least=1.0,
                ),
            )
        )
    return tuple(out)
