"""The evidence tables of the report: tiers, the points scorecard and the backtest KPIs.

Like view.py, nothing here computes a statistic: it picks, orders and formats what scoring, tiers
and validation measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from icpkit.profile import (
    CalibrationCheck,
    ScorecardSection,
    TiersSection,
    ValidationSection,
)
from icpkit.report import formatting as fmt
from icpkit.report.formatting import Table, records_table
from icpkit.report.view import Titled
from icpkit.stats import Estimate

KPI_ORDER = (
    "win_rate",
    "conversion",
    "avg_deal_size",
    "median_sales_cycle_days",
    "churn_rate",
    "ltv",
    "cac",
)
SHARE_KPIS = frozenset({"win_rate", "conversion", "churn_rate"})


def tier_records(
    tiers: TiersSection | None, validation: ValidationSection | None = None
) -> list[dict[str, Any]]:
    """The per-tier rows of the tiers result (count, success rate…) with each tier's least score.

    With a backtest, each row also carries the tier's out-of-time win rate (a ``Estimate``:
    value, interval, n), so the in-sample success rate is never shown alone.
    """
    if tiers is None:
        return []
    cuts = tiers.cuts
    least: dict[str, int | str] = {"Tier 1": cuts.tier1, "Tier 2": cuts.tier2, "Tier 3": cuts.tier3}
    least["Non-fit"] = f"<{cuts.tier3}"  # below Tier 3, or any score with a disqualifier
    # How tiers are really assigned (score and criterion and disqualifier), when stored
    least.update({str(k): str(v) for k, v in (tiers.rules or {}).items()})
    backtest = backtest_win_rates(validation)
    out = []
    for r in tiers.table:
        tier_rate = backtest.get(r.tier)
        extra = {"backtest_win_rate": tier_rate} if tier_rate is not None else {}
        score = least.get(r.tier)
        out.append(
            {**({"min_score": score} if score is not None else {}), **r.model_dump(), **extra}
        )
    return out


def backtest_win_rates(validation: ValidationSection | None) -> dict[str, Estimate]:
    """Out-of-time win rate per tier from the backtest KPIs."""
    if validation is None:
        return {}
    return {
        k.group: k
        for k in validation.kpis
        if k.kpi == "win_rate" and k.value is not None and k.group.startswith(("Tier", "Non-fit"))
    }


def backtest_cell(k: Estimate, *, interval: bool = True) -> str:
    """'58% [51–64%] n=225' (or '58% n=225' where space is short): a rate, interval and n."""
    ci = ""
    if interval and k.ci_low is not None and k.ci_high is not None:
        ci = f" [{fmt.percent(k.ci_low)}–{fmt.percent(k.ci_high)}]"
    value = fmt.DASH if k.value is None else fmt.percent(k.value)
    return f"{value}{ci} n={k.n}"


TIER_COLUMNS = (
    "tier",
    "min_score",
    "count",
    "n_accounts",
    "share",
    "share_accounts",
    "success_rate",
    "success_share",
    "backtest_win_rate",
)
ONEPAGER_TIER_COLUMNS = (
    "tier",
    "min_score",
    "count",
    "n_accounts",
    "success_rate",
    "backtest_win_rate",
)


def tiers_table(
    tiers: TiersSection | None,
    columns: Sequence[str] = TIER_COLUMNS,
    validation: ValidationSection | None = None,
    *,
    compact: bool = False,
) -> Table:
    """Tiers with their least score, counts, share of accounts and historical success rate."""
    rows = [
        {**r, "backtest_win_rate": backtest_cell(r["backtest_win_rate"], interval=not compact)}
        if "backtest_win_rate" in r
        else r
        for r in tier_records(tiers, validation)
    ]
    present = [c for c in columns if any(c in r for r in rows)]
    table = records_table(rows, present or None)
    names = {
        "count": "accounts",
        "share": "share of accounts",
        "success_share": "share of successes",
        "success_rate": success_header(tiers),
        "backtest_win_rate": held_out_header(validation),
    }
    headers = (
        tuple(names.get(c, h) for c, h in zip(present, table.columns, strict=True))
        if present
        else ()
    )
    worded = bool(tiers is not None and tiers.rules)
    if worded:
        headers = tuple(
            "assigned when" if c == "min_score" else h
            for c, h in zip(present, headers, strict=True)
        )
    numeric = tuple(
        (n or c == "min_score") and not (worded and c == "min_score")
        for c, n in zip(present, table.numeric, strict=True)
    )
    return Table(headers or table.columns, table.rows, numeric or table.numeric)


def success_header(tiers: TiersSection | None) -> str:
    """The in-sample rate's header, named by what it is: 'won (build)' or 'best (build)'."""
    name = (tiers.success_name if tiers is not None else None) or ""
    if name == "won":
        return "won (build)"
    if name.startswith("best"):
        return "best (build)"
    return "success (build)"


def held_out_header(validation: ValidationSection | None) -> str:
    """The held-out rate's header: what is counted and how the held-out data was chosen."""
    outcome = validation.outcome if validation is not None else ""
    method = validation.method if validation is not None else ""
    what = "best share" if outcome.startswith("best") else "win rate"
    how = "cross-validated" if method == "cross-validated" else "backtest"
    return f"{what} ({how})"


def tier_note(tiers: TiersSection | None) -> str:
    """One line on what the tiers achieve (Tier 1+2 share of accounts and of successes)."""
    bar = None if tiers is None else tiers.bar
    rules = (
        " Tiers follow the 'assigned when' column: the best tier whose every condition an account "
        "meets (near a criterion = misses at most one of its conditions)."
        if tiers is not None and tiers.rules
        else ""
    )
    if bar is None or bar.tier12_share is None or bar.tier12_success_share is None:
        return rules.strip()
    return (
        f"Tier 1 and 2 are {fmt.percent(bar.tier12_share)} of accounts and hold "
        f"{fmt.percent(bar.tier12_success_share)} of the successes." + rules
    )


def scorecard_table(scorecard: ScorecardSection | None) -> tuple[Table, str]:
    """The points table (attribute, bin, points) and a line on how points add up to the score."""
    if scorecard is None:
        return Table((), (), ()), ""
    rows = []
    for feature in scorecard.features:
        for i, (label, pts) in enumerate(zip(feature.labels, feature.points, strict=False)):
            rows.append(
                {
                    "attribute": feature.name if i == 0 else "",
                    "bin": label,
                    "points": f"{pts:+d}",
                }
            )
    table = records_table(rows, ["attribute", "bin", "points"])
    table = Table(table.columns, table.rows, (False, False, True))
    note = (
        f"Every account starts at {scorecard.base} points; its fit score (0–100) is that base "
        "plus the points of the bin it falls in for each attribute."
    )
    means = scorecard.info.probability_of
    if means and scorecard.probability:
        note += f" fit_probability is the calibrated probability that {means}."
    return table, note


def kpi_table(validation: ValidationSection) -> Table:
    """Backtest KPIs, one row per group (tiers, ICP, non-ICP, all), each cell ``value (CI) n``."""
    cells: dict[str, dict[str, str]] = {}
    for k in validation.kpis:
        cells.setdefault(k.group, {})[k.kpi] = _kpi_cell(k)
    names = [n for n in KPI_ORDER if any(n in row for row in cells.values())]
    names += sorted({n for row in cells.values() for n in row} - set(names))
    names = [n for n in names if any(row.get(n, fmt.DASH) != fmt.DASH for row in cells.values())]
    rows = tuple((g, *(row.get(n, fmt.DASH) for n in names)) for g, row in cells.items())
    headers = ("group", *(fmt.header(n).replace("avg ", "average ") for n in names))
    # cells hold a value, an interval and n: they wrap, so they are not set as numeric columns
    return Table(headers, rows, (False, *(False for _ in names)))


def _kpi_cell(k: Estimate) -> str:
    if k.value is None:
        return fmt.DASH
    key = "rate" if k.kpi in SHARE_KPIS else "value"
    text = fmt.value(key, k.value)
    if k.ci_low is not None and k.ci_high is not None:
        text += f" ({fmt.value(key, k.ci_low)}–{fmt.value(key, k.ci_high)})"
    return f"{text} n={k.n:,}"


def validation_lines(v: ValidationSection) -> list[str]:
    """The backtest in sentences: cut, sizes, AUC, top-decile lift, coverage, weakened rules."""
    where = (
        "Cross-validated (not out-of-time), each account scored by an ICP built without it"
        if v.method == "cross-validated"
        else f"Backtest from {v.cut_date or 'the cut date'}"
    )
    lines = [
        *(v.verdict.lines if v.verdict is not None else []),
        f"{where}: {v.n_deals:,} deals ({v.n_closed:,} closed) on {v.n_accounts:,} accounts; "
        f"evidence {v.evidence}.",
    ]
    auc = v.auc
    if auc is not None and auc.value is not None:
        lines.append(
            f"AUC of the fit score on won vs lost deals: {auc.value:.2f} "
            f"({_pair(auc, 'number')}, n={auc.n:,})."
        )
    if v.top_decile_lift is not None:
        lines.append(
            f"Top decile of fit score: {fmt.lift(v.top_decile_lift)} the average win rate."
        )
    m = v.madkudu
    if m.flagged_share is not None and m.wins_share is not None:
        lines.append(
            f"Tier 1 and 2 flag {fmt.percent(m.flagged_share)} of accounts and hold "
            f"{fmt.percent(m.wins_share)} of the wins."
        )
    c = v.coverage
    if c.best_in_icp_share is not None:
        lines.append(
            f"The ICP describes {fmt.percent(c.best_in_icp_share)} of the "
            f"{c.n_best:,} best customers after the cut."
        )
    weak = [r.rule for r in v.criteria if r.weakened]
    if weak:
        lines.append("Criteria whose evidence weakened after the cut: " + "; ".join(weak))
    if v.calibration is not None:
        lines.append(calibration_line(v.calibration))
    return lines


def calibration_line(c: CalibrationCheck) -> str:
    """The held-out calibration of fit_probability in one sentence, with its n."""

    def ece(x: float | None) -> str:
        return fmt.DASH if x is None else f"{x:.3f}"

    text = (
        f"Calibration of fit_probability on {c.n:,} held-out rows ({c.n_positive:,} where "
        f"{c.outcome}): expected calibration error {ece(c.ece_before)} as built"
    )
    if c.ece_after is not None:
        text += f", {ece(c.ece_after)} after isotonic calibration (cross-fitted)"
    if c.applied:
        text += "; fit_probability now uses the isotonic map (the points are unchanged)."
    else:
        text += f"; the build's own map is kept{': ' + c.note if c.note else ''}."
    return text


def _pair(k: Estimate, kind: str) -> str:
    lo, hi = k.ci_low, k.ci_high
    return fmt.DASH if lo is None or hi is None else fmt.interval(lo, hi, kind)


def validation_tables(v: ValidationSection) -> list[Titled]:
    """KPIs by tier, the gains table, calibration and the criteria re-check, each when present."""
    out = [
        Titled(
            "KPIs by tier after the cut",
            kpi_table(v),
            "Cells: value (95% confidence interval) and the number of deals or accounts.",
        )
    ]
    gains_cols = [
        "decile",
        "n_deals",
        "n_won",
        "win_rate",
        "lift",
        "cum_share_of_deals",
        "cum_share_of_wins",
        "cum_lift",
    ]
    named: tuple[tuple[Sequence[BaseModel], str, list[str] | None], ...] = (
        (v.gains, "Gains by decile of fit score", gains_cols),
        (
            v.reliability,
            "Calibration: predicted probability vs observed rate on held-out data"
            + (
                " (isotonic, cross-fitted)"
                if v.calibration is not None and v.calibration.ece_after is not None
                else ""
            ),
            None,
        ),
        (v.criteria, "Criteria re-checked on the best customers after the cut", None),
    )
    for records, title, cols in named:
        rows = [r.model_dump() for r in records]
        if rows:
            present = [c for c in cols if any(c in r for r in rows)] if cols else None
            out.append(Titled(title, records_table(rows, present)))
    return [t for t in out if t.table]
