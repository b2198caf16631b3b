"""Out-of-time backtest of an ICP: cut the history, build before, measure the KPIs after.

``split_at`` keeps in ``before`` only what was known on the cut date (no leakage: a deal that closed
after the cut is still open in ``before``; a subscription that ended after the cut is still
active). ``evaluate`` takes the accounts scored by an ICP built on ``before`` and measures, on the
deals created on or after the cut, every KPI by tier and ICP vs non-ICP with n and a confidence
interval (Wilson for rates, t for means, seeded bootstrap for medians), plus AUC, top-decile lift,
a gains table, calibration, the MadKudu bar and the coverage checks. Small n is said plainly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from icpkit.config import SuccessConfig
from icpkit.data.model import CrmData
from icpkit.errors import IcpError, InsufficientDataError, Problem, SchemaError
from icpkit.profile import IcpProfile

TIERS = ("Tier 1", "Tier 2", "Tier 3", "Non-fit")
ICP_TIERS = ("Tier 1", "Tier 2")
GROUPS = (*TIERS, "ICP", "Non-ICP", "All")
KPIS = (
    "conversion",
    "win_rate",
    "median_sales_cycle_days",
    "avg_deal_size",
    "ltv",
    "churn_rate",
    "cac",
)
MIN_GROUP_N = 30  # below this a group's KPI is "weak evidence"
CLOSED = ("won", "lost")


# ---------------------------------------------------------------------------------------------
# The cut


def default_cut_date(deals: pl.DataFrame | None, holdout_share: float = 0.25) -> date:
    """The date that leaves the last ``holdout_share`` of closed deals after it.

    Closed deals are ordered by ``created_at`` (the evaluation set is the deals *created* on or
    after the cut); ``closed_at`` is used when the deals have no creation date.

    Raises
    ------
    InsufficientDataError
        When there are fewer than 10 dated closed deals.
    """
    if deals is None or deals.height == 0:
        raise InsufficientDataError("a backtest needs a deals table; none was loaded")
    column = "created_at" if "created_at" in deals.columns else "closed_at"
    if column not in deals.columns:
        raise InsufficientDataError(
            "a backtest needs deal dates (created_at or closed_at); found none"
        )
    dates = (
        deals.filter(pl.col("stage").cast(pl.Utf8).str.to_lowercase().is_in(CLOSED))
        .get_column(column)
        .drop_nulls()
        .sort()
    )
    if dates.len() < 10:
        raise InsufficientDataError(
            f"a backtest needs at least 10 closed deals with {column}; found {dates.len()}"
        )
    position = min(dates.len() - 1, math.floor(dates.len() * (1.0 - holdout_share)))
    cut = dates[position]
    if cut == dates[0]:  # every deal on one day: no history before it to build from
        raise InsufficientDataError(f"closed deals span a single {column} ({cut}); cannot cut")
    return cut


def split_at(crm: CrmData, cut: date) -> tuple[CrmData, CrmData]:
    """Split a CRM into what was known before ``cut`` and what happened from ``cut`` on.

    ``before``: deals created before the cut (those closed on/after it turn back into open deals
    with no close date or amount, since the close value is an outcome); subscriptions started
    before the cut, with an end on/after it erased (still active then); notes and signals dated
    before the cut; contacts of those deals or of no deal. ``after``: deals created on/after the
    cut (the evaluation set), subscriptions started on/after it (new customers' LTV and churn),
    notes and signals dated on/after it. Accounts are kept whole in both (their attributes are a
    snapshot). Rows without the date that places them are left out of both.

    Raises
    ------
    InsufficientDataError
        When there are no deals, or the deals have no ``created_at``.
    """
    deals = crm.deals
    if deals is None or "created_at" not in deals.columns:
        raise InsufficientDataError("a backtest needs a deals table with created_at dates")
    deals_before = _deals_as_known_at(deals.filter(pl.col("created_at") < cut), cut)
    deals_after = deals.filter(pl.col("created_at") >= cut)
    before = CrmData(
        accounts=crm.accounts,
        deals=deals_before,
        subscriptions=_subscriptions_before(crm.subscriptions, cut),
        contacts=_contacts_of(crm.contacts, deals_before),
        notes=_dated(crm.notes, "date", cut, before=True),
        signals=_dated(crm.signals, "date", cut, before=True),
        problems=list(crm.problems),
        sources=dict(crm.sources),
    )
    subs_after = crm.subscriptions
    if subs_after is not None and "start" in subs_after.columns:
        subs_after = subs_after.filter(pl.col("start") >= cut)
    after = CrmData(
        accounts=crm.accounts,
        deals=deals_after,
        subscriptions=subs_after,
        contacts=_contacts_of(crm.contacts, deals_after),
        notes=_dated(crm.notes, "date", cut, before=False),
        signals=_dated(crm.signals, "date", cut, before=False),
        problems=list(crm.problems),
        sources=dict(crm.sources),
    )
    return before, after


def _deals_as_known_at(deals: pl.DataFrame, cut: date) -> pl.DataFrame:
    """Deals as the CRM showed them on the cut date: later closes are still open."""
    stage = pl.col("stage").cast(pl.Utf8).str.to_lowercase()
    if "closed_at" in deals.columns:
        unknown = stage.is_in(CLOSED) & (
            pl.col("closed_at").is_null() | (pl.col("closed_at") >= cut)
        )
    else:  # no close dates: whether a deal had closed by the cut cannot be known
        unknown = stage.is_in(CLOSED)
    updates = [pl.when(unknown).then(pl.lit("open")).otherwise(pl.col("stage")).alias("stage")]
    if "closed_at" in deals.columns:
        updates.append(
            pl.when(unknown).then(None).otherwise(pl.col("closed_at")).alias("closed_at")
        )
    if "amount" in deals.columns:
        updates.append(pl.when(unknown).then(None).otherwise(pl.col("amount")).alias("amount"))
    return deals.with_columns(updates)


def _subscriptions_before(subs: pl.DataFrame | None, cut: date) -> pl.DataFrame | None:
    if subs is None or "start" not in subs.columns:
        return subs
    kept = subs.filter(pl.col("start") < cut)
    if "end" in kept.columns:
        kept = kept.with_columns(
            pl.when(pl.col("end") >= cut).then(None).otherwise(pl.col("end")).alias("end")
        )
    return kept


def _dated(
    frame: pl.DataFrame | None, column: str, cut: date, *, before: bool
) -> pl.DataFrame | None:
    if frame is None or column not in frame.columns:
        return frame if frame is None or not before else frame.clear()
    return frame.filter(pl.col(column) < cut if before else pl.col(column) >= cut)


def _contacts_of(contacts: pl.DataFrame | None, deals: pl.DataFrame) -> pl.DataFrame | None:
    if contacts is None or "deal_id" not in contacts.columns or "deal_id" not in deals.columns:
        return contacts
    of_deals = contacts.join(deals.select("deal_id").unique(), on="deal_id", how="semi")
    return pl.concat([contacts.filter(pl.col("deal_id").is_null()), of_deals])


# ---------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class ValidationResult:
    """The backtest: KPIs by tier and ICP vs non-ICP, discrimination, calibration, coverage.

    ``kpis`` holds one :class:`Estimate` per (group, KPI). ``evidence`` is ``strong``,
    ``moderate`` or ``weak``; ``caveats`` say in words why the evidence is limited.
    """

    cut_date: str | None
    n_accounts: int
    n_deals: int
    n_closed: int
    kpis: tuple[Estimate, ...]
    auc: Estimate | None
    top_decile_lift: float | None
    gains: tuple[dict[str, Any], ...]
    brier: float | None
    reliability: tuple[dict[str, Any], ...]
    madkudu: dict[str, Any]
    coverage: dict[str, Any]
    criteria: tuple[dict[str, Any], ...]
    evidence: str
    caveats: tuple[str, ...] = field(default=())
    accounts_with_closed: dict[str, int] = field(default_factory=dict)

    def kpi(self, group: str, name: str) -> Estimate | None:
        """The estimate of one KPI for one group (a tier, 'ICP', 'Non-ICP' or 'All')."""
        return next((k for k in self.kpis if k.group == group and k.kpi == name), None)

    def weakened_criteria(self) -> list[str]:
        """Rules whose lift over the post-cut best customers is no longer clearly above 1."""
        return [c["rule"] for c in self.criteria if c.get("weakened")]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN and infinities become None); stored in ``IcpProfile.validation``."""
        out = asdict(self)
        out["kpis"] = [k.to_dict() for k in self.kpis]
        out["auc"] = None if self.auc is None else self.auc.to_dict()
        return _json_safe(out)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationResult:
        """Read back :meth:`to_dict` output."""
        try:
            values = dict(data)
            values["kpis"] = tuple(Estimate.from_dict(k) for k in data["kpis"])
            values["auc"] = None if data.get("auc") is None else Estimate.from_dict(data["auc"])
            for key in ("gains", "reliability", "criteria", "caveats"):
                values[key] = tuple(data.get(key) or ())
            return cls(**values)
        except (KeyError, TypeError) as exc:
            raise SchemaError(f"validation results are not in the expected shape: {exc}") from None

    def to_frame(self) -> pl.DataFrame:
        """Groups × KPIs, long: group, kpi, value, n, ci_low, ci_high, weak."""
        rows = [k.to_dict() | {"weak": k.n < MIN_GROUP_N} for k in self.kpis]
        schema = {
            "group": pl.Utf8,
            "kpi": pl.Utf8,
            "value": pl.Float64,
            "n": pl.Int64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "weak": pl.Boolean,
        }
        return pl.DataFrame(rows, schema=schema)

    def kpi_table(self) -> pl.DataFrame:
        """Groups × KPIs, wide, each cell ``value [low, high] n=…`` for printing."""
        frame = self.to_frame().with_columns(
            pl.struct("kpi", "value", "n", "ci_low", "ci_high")
            .map_elements(lambda r: _cell(r), return_dtype=pl.Utf8)
            .alias("cell")
        )
        wide = frame.pivot(on="kpi", index="group", values="cell")
        order = pl.DataFrame({"group": list(GROUPS)}).with_row_index("_o")
        return wide.join(order, on="group", how="left").sort("_o").drop("_o")

    def summary_lines(self) -> list[str]:
        """A few lines in words: what the backtest shows and how much to trust it."""
        lines = [
            f"Backtest from {self.cut_date}: {self.n_deals} deals ({self.n_closed} closed) "
            f"on {self.n_accounts} accounts ({self.accounts_with_closed.get('All', 0)} with a "
            f"closed deal); evidence {self.evidence}."
        ]
        for group in ("Tier 1", "ICP", "Non-ICP"):
            est = self.kpi(group, "win_rate")
            if est is not None and est.value is not None:
                lines.append(f"Win rate {group}: {est.text(percent=True)}")
        if self.auc is not None and self.auc.value is not None:
            lines.append(f"AUC (fit score, won vs lost deals): {self.auc.text()}")
        if self.top_decile_lift is not None:
            lines.append(f"Lift in the top decile of fit score: {self.top_decile_lift:.2f}×")
        m = self.madkudu
        if m.get("flagged_share") is not None:
            lines.append(_madkudu_line(m))
        if self.coverage.get("best_in_icp_share") is not None:
            c = self.coverage
            lines.append(
                f"The ICP describes {c['best_in_icp_share']:.0%} of the best customers after "
                f"the cut and excludes {c['excluded_share']:.0%} of accounts."
            )
        weak = self.weakened_criteria()
        if weak:
            lines.append("Criteria whose evidence weakened: " + "; ".join(weak))
        lines += [f"Caveat: {c}" for c in self.caveats]
        return lines

    def to_text(self) -> str:
        return "\n".join(self.summary_lines())


def _cell(r: dict[str, Any]) -> str:
    est = Estimate(
        group="", kpi=r["kpi"], value=r["value"], n=r["n"], ci_low=r["ci_low"], ci_high=r["ci_high"]
    )
    return est.text(percent=r["kpi"] in ("conversion", "win_rate", "churn_rate"))


def _madkudu_line(m: dict[str, Any]) -> str:
    ratio = m.get("top_bottom_ratio")
    ratio_text = "n/a" if ratio is None else f"{ratio:.1f}×"
    wins = m.get("wins_share")
    wins_text = "n/a" if wins is None else f"{wins:.0%}"
    return (
        f"Tier 1+2 flag {m['flagged_share']:.0%} of accounts and hold {wins_text} of the wins; "
        f"top ÷ bottom tier win rate {ratio_text}."
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


# ---------------------------------------------------------------------------------------------
# Evaluation


def evaluate(
    scored: pl.DataFrame,
    crm_after: CrmData,
    costs: pl.DataFrame | None = None,
    *,
    cut: date | None = None,
    profile: IcpProfile | None = None,
    success: SuccessConfig | None = None,
    seed: int = 0,
) -> ValidationResult:
    """Measure an ICP on the deals created after the cut.

    Parameters
    ----------
    scored : pl.DataFrame
        One row per account: ``account_id``, ``fit_score`` (0–100), ``tier`` ('Tier 1', 'Tier 2',
        'Tier 3', 'Non-fit'), optionally ``icp`` (bool; default Tier 1 or 2) and
        ``fit_probability`` (for calibration). Scored by an ICP built on the pre-cut data only.
    crm_after : CrmData
        The ``after`` half of :func:`split_at` (its deals are the evaluation set).
    costs : pl.DataFrame, optional
        Acquisition spend for CAC: ``spend`` and either ``tier`` (a tier name, 'ICP' or
        'Non-ICP') or ``source`` (a deal source; its spend is shared out by the groups' share of
        that source's deals).
    cut : date, optional
        The cut date, reported with the results.
    profile : IcpProfile, optional
        The ICP that was evaluated; its criteria are re-checked on the post-cut data.
    success : SuccessConfig, optional
        Defines the post-cut "best customers" for the coverage check (default settings).
    seed : int
        Seed of the bootstrap intervals.
    """
    scored = _check_scored(scored)
    deals = _deal_frame(scored, crm_after)
    caveats: list[str] = []
    if deals.height < crm_after.deals.height:  # type: ignore[union-attr]
        caveats.append(
            f"{crm_after.deals.height - deals.height} deals after the cut belong to "  # type: ignore[union-attr]
            "accounts that were not scored and are left out"
        )
    outcomes = _outcomes_after(crm_after, success, caveats)
    rng = np.random.default_rng(seed)
    kpis = _all_kpis(deals, scored, outcomes, costs, rng)
    closed = deals.filter(pl.col("_won").is_not_null())
    y = closed["_won"].to_numpy().astype(bool)
    scores = closed["fit_score"].to_numpy().astype(float)
    gains = _gains_table(scores, y)
    auc = auc_with_ci(scores, y)
    brier, reliability = _calibration(closed)
    accounts = {g: part["account_id"].n_unique() for g, part in _group_frames(closed)}
    result_caveats = caveats + _evidence_caveats(kpis, auc, closed.height, accounts)
    return ValidationResult(
        cut_date=None if cut is None else cut.isoformat(),
        n_accounts=scored.height,
        n_deals=deals.height,
        n_closed=closed.height,
        kpis=tuple(kpis),
        auc=auc,
        top_decile_lift=gains[0]["lift"] if gains else None,
        gains=tuple(gains),
        brier=brier,
        reliability=tuple(reliability),
        madkudu=_madkudu(scored, deals, kpis),
        coverage=_coverage(scored, outcomes),
        criteria=tuple(_criteria_check(profile, crm_after, outcomes, result_caveats)),
        evidence=_evidence_level(closed.height, kpis, accounts),
        caveats=tuple(result_caveats),
        accounts_with_closed=accounts,
    )


def _check_scored(scored: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("account_id", "fit_score", "tier") if c not in scored.columns]
    if missing:
        raise SchemaError(
            "",
            [
                Problem(
                    file="scored accounts",
                    column=c,
                    code="missing_column",
                    message=f"column {c} is missing (expected the output of score_frame)",
                )
                for c in missing
            ],
        )
    bad = scored.filter(~pl.col("tier").is_in(TIERS))["tier"].unique().to_list()
    if bad:
        raise SchemaError(
            f"scored accounts, column tier: unknown tiers {bad[:5]} (expected {TIERS})"
        )
    if "icp" not in scored.columns:
        scored = scored.with_columns(pl.col("tier").is_in(ICP_TIERS).alias("icp"))
    return scored.unique("account_id", keep="first", maintain_order=True)


def _deal_frame(scored: pl.DataFrame, crm: CrmData) -> pl.DataFrame:
    """Post-cut deals with the account's score, tier and ICP flag; ``_won`` null for open deals."""
    deals = crm.deals
    if deals is None or deals.height == 0:
        raise InsufficientDataError("no deals were created after the cut; nothing to evaluate")
    stage = pl.col("stage").cast(pl.Utf8).str.to_lowercase()
    extra = [c for c in ("fit_probability",) if c in scored.columns]
    frame = deals.join(
        scored.select("account_id", "fit_score", "tier", "icp", *extra),
        on="account_id",
        how="inner",
    )
    cycle = (
        (pl.col("closed_at") - pl.col("created_at")).dt.total_days().cast(pl.Float64)
        if {"closed_at", "created_at"} <= set(frame.columns)
        else pl.lit(None, pl.Float64)
    )
    amount = (
        pl.col("amount").cast(pl.Float64) if "amount" in frame.columns else pl.lit(None, pl.Float64)
    )
    source = pl.col("source").cast(pl.Utf8) if "source" in frame.columns else pl.lit(None, pl.Utf8)
    return frame.with_columns(
        pl.when(stage == "won")
        .then(True)
        .when(stage == "lost")
        .then(False)
        .otherwise(None)
        .alias("_won"),
        cycle.alias("_cycle"),
        amount.alias("_amount"),
        source.alias("_source"),
    )


def _outcomes_after(
    crm: CrmData, success: SuccessConfig | None, caveats: list[str]
) -> pl.DataFrame | None:
    """Per-account outcomes after the cut (labels, realised LTV, churn), when computable."""
    from icpkit.outcomes import compute_outcomes  # outcomes is a sibling computation module

    try:
        return compute_outcomes(crm, success).frame
    except IcpError as exc:
        caveats.append(f"post-cut outcomes could not be computed ({exc.message})")
        return None


def _group_frames(frame: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    parts = [(t, frame.filter(pl.col("tier") == t)) for t in TIERS]
    parts += [("ICP", frame.filter(pl.col("icp"))), ("Non-ICP", frame.filter(~pl.col("icp")))]
    return [*parts, ("All", frame)]


def _all_kpis(
    deals: pl.DataFrame,
    scored: pl.DataFrame,
    outcomes: pl.DataFrame | None,
    costs: pl.DataFrame | None,
    rng: np.random.Generator,
) -> list[Estimate]:
    kpis: list[Estimate] = []
    for group, part in _group_frames(deals):
        kpis += _deal_kpis(group, part, rng)
    if outcomes is not None and "churned" in outcomes.columns:
        accounts = scored.join(outcomes.select("account_id", "ltv", "churned"), on="account_id")
        accounts = accounts.filter(pl.col("churned").is_not_null())
        for group, part in _group_frames(accounts):
            kpis.append(mean_interval(group, "ltv", part["ltv"].drop_nulls().to_numpy()))
            churned = part["churned"].cast(pl.Int64)
            kpis.append(rate(group, "churn_rate", int(churned.sum()), part.height))
    if costs is not None:
        kpis += _cac(deals, costs)
    order = {g: i for i, g in enumerate(GROUPS)}
    return sorted(kpis, key=lambda k: (order[k.group], KPIS.index(k.kpi)))


def _deal_kpis(group: str, part: pl.DataFrame, rng: np.random.Generator) -> list[Estimate]:
    won = part.filter(pl.col("_won").fill_null(False))
    n_closed = part["_won"].drop_nulls().len()
    return [
        rate(group, "conversion", won.height, part.height),
        rate(group, "win_rate", won.height, n_closed),
        median_interval(
            group, "median_sales_cycle_days", won["_cycle"].drop_nulls().to_numpy(), rng
        ),
        mean_interval(group, "avg_deal_size", won["_amount"].drop_nulls().to_numpy()),
    ]


def _cac(deals: pl.DataFrame, costs: pl.DataFrame) -> list[Estimate]:
    """Spend ÷ new customers (accounts with a won deal after the cut) per group."""
    key = "tier" if "tier" in costs.columns else "source" if "source" in costs.columns else None
    if key is None or "spend" not in costs.columns:
        raise SchemaError(
            f"cost table: expected columns spend and tier or source; found {costs.columns}"
        )
    spend_by_group: dict[str, float] = {}
    for group, part in _group_frames(deals):
        spend_by_group[group] = _group_spend(group, part, deals, costs, key)
    out = []
    for group, part in _group_frames(deals):
        customers = part.filter(pl.col("_won").fill_null(False))["account_id"].n_unique()
        value = spend_by_group[group] / customers if customers else None
        out.append(Estimate(group, "cac", value, customers, None, None))
    return out


def _group_spend(
    group: str, part: pl.DataFrame, deals: pl.DataFrame, costs: pl.DataFrame, key: str
) -> float:
    spend = costs.select(pl.col(key).cast(pl.Utf8), pl.col("spend").cast(pl.Float64))
    if key == "tier":
        members = {"ICP": ICP_TIERS, "Non-ICP": ("Tier 3", "Non-fit"), "All": TIERS}.get(
            group, (group,)
        )
        direct = spend.filter(pl.col("tier") == group)["spend"].sum()
        if direct:
            return float(direct)
        return float(spend.filter(pl.col("tier").is_in(members))["spend"].sum())
    # Channel spend is shared out by the group's share of that channel's deals.
    share = (
        part.group_by("_source").len("n").join(deals.group_by("_source").len("total"), on="_source")
    )
    joined = spend.join(share, left_on="source", right_on="_source", how="inner")
    return float((joined["spend"] * joined["n"] / joined["total"]).sum())


def _gains_table(scores: np.ndarray, won: np.ndarray) -> list[dict[str, Any]]:
    """Closed deals in deciles of fit score (best first): win rate, lift, cumulative gains."""
    if won.size < 10 or won.sum() == 0:
        return []
    order = np.lexsort((np.arange(scores.size), -scores))  # stable: ties keep deal order
    ranked = won[order]
    base = ranked.mean()
    rows, cum_won, cum_n = [], 0, 0
    for decile, chunk in enumerate(np.array_split(ranked, 10), start=1):
        cum_won += int(chunk.sum())
        cum_n += chunk.size
        win_rate = float(chunk.mean()) if chunk.size else float("nan")
        rows.append(
            {
                "decile": decile,
                "n_deals": int(chunk.size),
                "n_won": int(chunk.sum()),
                "win_rate": win_rate,
                "lift": win_rate / base,
                "cum_share_of_deals": cum_n / ranked.size,
                "cum_share_of_wins": cum_won / ranked.sum(),
                "cum_lift": (cum_won / cum_n) / base,
            }
        )
    return rows


def _calibration(closed: pl.DataFrame) -> tuple[float | None, list[dict[str, Any]]]:
    """Brier score of fit_probability against won/lost, and a ten-bin reliability table.

    fit_probability is the scorecard's probability of its own target (best customer, or won);
    against deal outcomes it measures how well that probability ranks and scales to wins.
    """
    if "fit_probability" not in closed.columns or closed.height == 0:
        return None, []
    frame = closed.filter(pl.col("fit_probability").is_not_null())
    p = frame["fit_probability"].to_numpy().astype(float)
    y = frame["_won"].to_numpy().astype(float)
    if p.size == 0:
        return None, []
    brier = float(np.mean((p - y) ** 2))
    bins = np.clip((p * 10).astype(int), 0, 9)
    table = []
    for b in range(10):
        inside = bins == b
        if inside.any():
            table.append(
                {
                    "bin": f"[{b / 10:.1f}, {(b + 1) / 10:.1f})",
                    "n": int(inside.sum()),
                    "mean_predicted": float(p[inside].mean()),
                    "observed_win_rate": float(y[inside].mean()),
                }
            )
    return brier, table


def _madkudu(scored: pl.DataFrame, deals: pl.DataFrame, kpis: list[Estimate]) -> dict[str, Any]:
    """Share flagged Tier 1+2, share of the wins they hold, top ÷ bottom tier win rate."""
    won = deals.filter(pl.col("_won").fill_null(False))
    rates = {k.group: k for k in kpis if k.kpi == "win_rate" and k.value is not None and k.n > 0}
    bottom = next((t for t in reversed(TIERS) if t in rates and t != "Tier 1"), None)
    top = rates.get("Tier 1")
    ratio = None
    if top is not None and bottom is not None and rates[bottom].value:
        ratio = top.value / rates[bottom].value  # type: ignore[operator]
    return {
        "flagged_share": float(scored["icp"].mean()) if scored.height else None,  # type: ignore[arg-type]
        "wins_share": float(won["icp"].mean()) if won.height else None,  # type: ignore[arg-type]
        "n_wins": won.height,
        "top_tier": "Tier 1",
        "bottom_tier": bottom,
        "top_bottom_ratio": ratio,
    }


def _coverage(scored: pl.DataFrame, outcomes: pl.DataFrame | None) -> dict[str, Any]:
    """Share of the best post-cut customers the ICP describes; share of accounts it excludes."""
    excluded = 1.0 - float(scored["icp"].mean()) if scored.height else None  # type: ignore[arg-type]
    out: dict[str, Any] = {
        "excluded_share": excluded,
        "n_accounts": scored.height,
        "excludes_more_than_includes": excluded is not None and excluded > 0.5,
        "best_in_icp_share": None,
        "n_best": 0,
    }
    if outcomes is None or "label" not in outcomes.columns:
        return out
    best = scored.join(
        outcomes.filter(pl.col("label") == "best").select("account_id"), on="account_id"
    )
    if best.height:
        k = int(best["icp"].sum())
        est = rate("best", "best_in_icp", k, best.height)
        out |= {
            "best_in_icp_share": est.value,
            "n_best": best.height,
            "best_in_icp_ci": [est.ci_low, est.ci_high],
        }
    return out


def _criteria_check(
    profile: IcpProfile | None, crm: CrmData, outcomes: pl.DataFrame | None, caveats: list[str]
) -> list[dict[str, Any]]:
    """Each criterion's lift among post-cut best customers against its build-time lift."""
    if profile is None or outcomes is None or not profile.criteria:
        return []
    from icpkit.rules import parse_segment

    ranked = crm.accounts.join(outcomes.select("account_id", "label"), on="account_id")
    ranked = ranked.filter(pl.col("label").is_in(("best", "worst", "rest")))
    if ranked.height == 0:
        return []
    is_best = (ranked["label"] == "best").to_numpy()
    base = float(is_best.mean())
    if base == 0:
        return []
    rows = []
    for crit in profile.criteria:
        try:
            covered = parse_segment(crit.rule).mask(ranked)
        except IcpError as exc:
            caveats.append(f"criterion {crit.rule!r} could not be re-checked: {exc.message}")
            continue
        est = rate("criterion", "precision", int(is_best[covered].sum()), int(covered.sum()))
        lift, lo, hi = (
            None if v is None else float(v / base) for v in (est.value, est.ci_low, est.ci_high)
        )
        # Build-time lifts are in-sample and selected as the best of many, so some shrinkage is
        # expected; a criterion's evidence has *weakened* when its post-cut lift is no longer
        # distinguishable from 1 (no better than an average account) while it was at build time.
        weakened = crit.lift_ci[0] > 1 and lo is not None and lo <= 1.0
        rows.append(
            {
                "rule": crit.rule,
                "build_lift": crit.lift,
                "build_lift_ci": list(crit.lift_ci),
                "lift_after": lift,
                "lift_after_ci": [lo, hi],
                "n_covered": int(covered.sum()),
                "weakened": bool(weakened),
            }
        )
    return rows


def _evidence_level(n_closed: int, kpis: list[Estimate], accounts: dict[str, int]) -> str:
    """weak | moderate | strong, from closed deals *and* the accounts they come from.

    Deals of one account are not independent evidence about an account-level profile, so a
    comparison resting on few accounts is weak however many deals those accounts had.
    """
    small = [
        k
        for k in kpis
        if k.kpi == "win_rate" and k.group in ("ICP", "Non-ICP") and k.n < MIN_GROUP_N
    ]
    few_accounts = min(accounts.get("ICP", 0), accounts.get("Non-ICP", 0)) < MIN_GROUP_N
    if n_closed < 100 or small or few_accounts:
        return "weak"
    enough_accounts = min(accounts.get("ICP", 0), accounts.get("Non-ICP", 0)) >= 100
    return "strong" if n_closed >= 400 and enough_accounts else "moderate"


def _evidence_caveats(
    kpis: list[Estimate], auc: Estimate | None, n_closed: int, accounts: dict[str, int]
) -> list[str]:
    notes = []
    if n_closed < 100:
        notes.append(
            f"weak evidence: only {n_closed} closed deals after the cut; intervals are wide "
            "and a difference between tiers may be chance"
        )
    for k in kpis:
        if k.kpi == "win_rate" and k.group in GROUPS[:6] and 0 < k.n < MIN_GROUP_N:
            notes.append(f"weak evidence: {k.group} has only {k.n} closed deals after the cut")
    icp, rest = accounts.get("ICP", 0), accounts.get("Non-ICP", 0)
    if n_closed and min(icp, rest) < MIN_GROUP_N:
        notes.append(
            f"weak evidence: the {n_closed} closed deals come from only {icp} ICP and {rest} "
            "non-ICP accounts; deal-level intervals treat deals as independent and are too "
            "narrow for a claim about accounts"
        )
    if auc is not None and auc.ci_low is not None and auc.ci_low <= 0.5:
        notes.append(
            "the AUC interval includes 0.5: the fit score's ranking of won vs lost deals "
            "is not distinguishable from chance on this data"
        )
    return notes


# ---------------------------------------------------------------------------------------------
# Statistics: every estimate carries n and an interval


@dataclass(frozen=True)
class Estimate:
    """A KPI value for one group with its n and a 95% confidence interval (None when undefined)."""

    group: str
    kpi: str
    value: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimate:
        return cls(**data)

    def text(self, *, percent: bool = False) -> str:
        """``42% [35%, 49%] n=180`` (or ``n/a n=0``)."""
        if self.value is None:
            return f"n/a n={self.n}"

        def fmt(x: float | None) -> str:
            if x is None:
                return "?"
            return f"{x:.0%}" if percent else f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"

        interval = "" if self.ci_low is None else f" [{fmt(self.ci_low)}, {fmt(self.ci_high)}]"
        return f"{fmt(self.value)}{interval} n={self.n}"


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion k/n (good at small n and rates near 0 or 1)."""
    if n <= 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(group: str, kpi: str, k: int, n: int) -> Estimate:
    """A proportion with its Wilson interval."""
    lo, hi = wilson_interval(k, n)
    return Estimate(group, kpi, k / n if n else None, n, lo, hi)


def mean_interval(group: str, kpi: str, values: np.ndarray) -> Estimate:
    """A mean with its t interval."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    n = int(values.size)
    if n == 0:
        return Estimate(group, kpi, None, 0)
    mean = float(values.mean())
    if n < 2:
        return Estimate(group, kpi, mean, n)
    half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return Estimate(group, kpi, mean, n, mean - half, mean + half)


def median_interval(
    group: str, kpi: str, values: np.ndarray, rng: np.random.Generator, reps: int = 1000
) -> Estimate:
    """A median with a seeded percentile-bootstrap interval."""
    values = np.asarray(values, dtype=float)
    n = int(values.size)
    if n == 0:
        return Estimate(group, kpi, None, 0)
    median = float(np.median(values))
    if n < 2:
        return Estimate(group, kpi, median, n)
    reps = max(200, min(reps, 5_000_000 // n))  # bound memory on large groups
    draws = np.median(values[rng.integers(0, n, size=(reps, n))], axis=1)
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return Estimate(group, kpi, median, n, float(lo), float(hi))


def auc_with_ci(scores: np.ndarray, won: np.ndarray) -> Estimate | None:
    """AUC of the score for won vs lost (ties count half), Hanley–McNeil 95% interval."""
    from scipy.stats import rankdata

    n_pos, n_neg = int(won.sum()), int((~won).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    auc = float((ranks[won].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)
    se = math.sqrt(max(var, 0.0) / (n_pos * n_neg))
    return Estimate(
        "All", "auc", auc, n_pos + n_neg, max(0.0, auc - 1.96 * se), min(1.0, auc + 1.96 * se)
    )
