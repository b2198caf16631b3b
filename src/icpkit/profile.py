"""IcpProfile: the ICP as typed data, serialised to JSON only (a versioned schema, readable and diffable).

The profile is what every edge shows and what the report renders: statement, core criteria,
disqualifiers (each a rule in text form with its evidence), the points scorecard, tier cut-offs,
validation results and provenance. Every part of it is a frozen pydantic model defined here
(:class:`SingleTrait`, :class:`ReportedSegment`, :class:`ScorecardSection`, :class:`TiersSection`,
:class:`ValidationSection` with its :class:`HeldOutVerdict`, :class:`Provenance`,
:class:`PartitionsSection`, :class:`MessagingSection`, :class:`SignalsSection` …), so a field
renamed by its producer is a validation error on load and a type error (mypy) in every reader,
never a silent dash in a report; ``IcpProfile.model_json_schema()`` describes all of it (no
free-form object: ``tests/test_profile_types.py``). Producers build these models (evaluation's
``evaluate`` returns the :class:`ValidationSection` itself); readers use attributes, never keys.
This module imports only ``errors``, ``stats`` and ``vocab`` (layer 0): every layer may read a
profile.

**Adding a section** (personas, themes, signals, …): write a pydantic model for it here (frozen,
``extra="forbid"``), add it to :class:`IcpProfile` as an optional field with default ``None`` (old
profiles simply lack it), bump :data:`SCHEMA_VERSION` and add a migration from the previous
version to :data:`MIGRATIONS` (often a no-op that only sets the new number), with a test that an
old profile still loads.

**Versions and migrations.** ``schema_version`` is written into every profile. ``from_json``
reads any version from 1 up to :data:`SCHEMA_VERSION`: a profile without the field is version 1,
and each function in :data:`MIGRATIONS` lifts a raw dict by one version before validation. The
version store keeps profiles as JSON text, so stored versions migrate the same way when read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from icpkit.errors import ConfigError
from icpkit.stats import Estimate
from icpkit.vocab import TIERS

if TYPE_CHECKING:
    import polars as pl

SCHEMA_VERSION = 3
SCORECARD_FORMAT: Final = "icpkit.scorecard/1"

Evidence = Literal["strong", "moderate", "weak", "insufficient"]


class _Section(BaseModel):
    """A typed, frozen part of the profile. Fields named in ``_omit_if_none`` are left out of the
    JSON when None (they only exist for some kinds of producer), and those in ``_omit_if_unset``
    when None or an empty list and never given (fields of older profiles, kept as they were
    written), so JSON round-trips unchanged."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _omit_if_none: ClassVar[frozenset[str]] = frozenset()
    _omit_if_unset: ClassVar[frozenset[str]] = frozenset()

    # No return annotation on purpose: pydantic would take ``dict[str, Any]`` as the serialised
    # shape, and every response schema (OpenAPI) would become a free-form object.
    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):
        out: dict[str, Any] = handler(self)
        unset = self._omit_if_unset - self.model_fields_set
        for key in self._omit_if_none:
            if key in out and out[key] is None:
                del out[key]
        for key in unset:  # never given: its default, so leaving it out loses nothing
            if key in out and (out[key] is None or out[key] == []):
                del out[key]
        return out


class RuleEvidence(BaseModel):
    """One criterion or disqualifier: a segment rule in text form and the evidence behind it.

    ``support`` is the number of accounts the rule covers; ``coverage`` the share of the target group
    (best customers for a criterion, worst for a disqualifier) it covers (recall); ``precision`` the
    share of covered accounts that are in the target group; ``lift`` precision ÷ base rate with its
    confidence interval ``lift_ci``; ``q_value`` the multiple-testing-adjusted significance.
    """

    model_config = ConfigDict(frozen=True)

    rule: str
    support: int
    coverage: float
    precision: float
    lift: float
    lift_ci: tuple[float, float]
    p_value: float = 1.0
    q_value: float = 1.0
    significant: bool = False
    evidence: Evidence = "insufficient"
    holdout_lift: float | None = None
    description: str = Field(
        "", description="The rule in plain words, for the statement and reports."
    )
    points: float | None = Field(
        None, description="Hand-written specs: points for meeting the rule."
    )
    # trust: how the held-out test bears on the evidence, and what a disqualifier may do
    evidence_note: str = Field(
        "", description="Why the evidence was downgraded after the held-out test, if it was."
    )
    forces_nonfit: bool = Field(
        True,
        description="Disqualifiers: a hit makes the account Non-fit whatever its score (only "
        "with evidence at least tiers.disqualifier_evidence); else it only subtracts points.",
    )


# ---------------------------------------------------------------------------------------------
# Scorecard (written by icpkit.scoring: ``Scorecard.to_dict()``)


class ScorecardFeature(_Section):
    """One input of the scorecard with its bins (``labels``) and integer points per bin.

    ``column`` is absent for a rule feature; ``cuts`` (numeric: bin edges as text), ``levels``
    (categorical), ``tag`` and ``rule`` exist only for their ``kind``.
    """

    _omit_if_none = frozenset({"column", "cuts", "levels", "tag", "rule"})

    name: str
    kind: Literal["numeric", "categorical", "tag", "rule"]
    role: Literal["attribute", "criterion", "disqualifier", "points"] = "attribute"
    column: str | None = None
    cuts: list[int | float | str] | None = None
    levels: list[str] | None = None
    tag: str | None = None
    rule: str | None = None
    labels: list[str] = Field(default_factory=list)
    points: list[int]


class ScorecardInfo(_Section):
    """How the scorecard was fitted: rows and positives, the attributes used, the regularisation,
    what its probability means; ``origin`` 'hand-written' for a spec."""

    _omit_if_none = frozenset({"n_rows", "n_positive", "base_rate", "attributes",
                               "regularization", "probability_of", "origin"})  # fmt: skip

    n_rows: int | None = Field(None, description="Training rows (accounts or deals).")
    n_positive: int | None = None
    base_rate: float | None = Field(None, description="Weighted share of positive rows.")
    attributes: list[str] | None = Field(None, description="Attributes the scorecard may use.")
    regularization: float | None = Field(None, description="The chosen inverse regularisation C.")
    probability_of: str | None = None
    origin: str | None = None


class ScorecardSection(_Section):
    """The points table: ``base`` plus one feature's points per bin gives the 0–100 fit score;
    ``probability`` maps each score to a calibrated probability (empty when never calibrated)."""

    format: Literal["icpkit.scorecard/1"] = SCORECARD_FORMAT
    target: str = "best"
    base: int
    calibration: str = "none"
    probability: list[float] = Field(default_factory=list)
    features: list[ScorecardFeature] = Field(default_factory=list)
    info: ScorecardInfo = Field(default_factory=ScorecardInfo)


# ---------------------------------------------------------------------------------------------
# Tiers (written by icpkit.scoring.learn and icpkit.scoring.spec)


class TierCutoffs(_Section):
    """Least fit score of Tier 1, 2 and 3 (a cut above 100 is one no account can reach)."""

    tier1: int
    tier2: int
    tier3: int


class TierRow(_Section):
    """One tier on the build data: accounts, share, and the historical success rate inside it."""

    tier: str
    count: int
    share: float
    n_outcomes: int = 0
    n_success: int = 0
    success_rate: float | None = None
    success_share: float | None = None


class TierBar(_Section):
    """The MadKudu bar on the build data: Tier 1+2 share of accounts and of successes."""

    tier12_share: float
    tier12_success_share: float
    tier1_over_nonfit: float | None = None


class TierTargets(_Section):
    """The tier settings the cut-offs were learned with (``[tiers]`` in icpkit.toml)."""

    _omit_if_unset = frozenset({"tier1_share", "tier2_share", "tier3_share",
                                "disqualifier_evidence"})  # fmt: skip

    tier1_share: float | None = Field(None, description="Target share of accounts in Tier 1.")
    tier2_share: float | None = Field(None, description="Target share of accounts in Tier 2.")
    tier3_share: float | None = Field(None, description="Target share of accounts in Tier 3.")
    disqualifier_evidence: str | None = Field(
        None, description="Least evidence for a disqualifier to force Non-fit (or 'never')."
    )


class TiersSection(_Section):
    """Tier cut-offs with the tier table they give on the build data.

    ``targets`` (the configured shares), ``success`` (what counted as a success) and ``bar`` are
    written for a learned ICP; ``source`` ('hand-written') for a spec, whose ``table`` is empty.
    ``criteria_based`` is False when no criterion exists and tiers follow the score alone.
    """

    _omit_if_none = frozenset(
        {"targets", "success", "source", "bar", "rules", "overriding_disqualifiers", "success_name"}
    )

    cuts: TierCutoffs
    targets: TierTargets | None = None
    criteria_based: bool = True
    success: str | None = None
    source: str | None = None
    table: list[TierRow] = Field(default_factory=list)
    bar: TierBar | None = None
    # How each tier is really assigned, in words (score, criterion, disqualifier), per tier.
    rules: dict[str, str] | None = None
    # Disqualifiers with evidence enough to force Non-fit (weaker ones only subtract points).
    overriding_disqualifiers: list[str] | None = None
    # What the build's success rate counts: 'won' or 'best by success score'.
    success_name: str | None = None


# ---------------------------------------------------------------------------------------------
# Validation (computed by icpkit.evaluation.validation.evaluate)


class GainsRow(_Section):
    """One decile of deals by fit score (highest first) in the backtest."""

    decile: int
    n_deals: int
    n_won: int
    win_rate: float | None = None
    lift: float | None = None
    cum_share_of_deals: float | None = None
    cum_share_of_wins: float | None = None
    cum_lift: float | None = None


class ReliabilityRow(_Section):
    """One probability bin of the calibration check."""

    bin: str
    n: int
    mean_predicted: float | None = None
    observed_win_rate: float | None = None


class BacktestBar(_Section):
    """The MadKudu bar after the cut: share flagged Tier 1+2, their share of wins, top ÷ bottom."""

    flagged_share: float | None = None
    wins_share: float | None = None
    n_wins: int = 0
    top_tier: str = "Tier 1"
    bottom_tier: str | None = None
    top_bottom_ratio: float | None = None


class CoverageCheck(_Section):
    """Share of accounts the ICP excludes, and of the post-cut best customers it describes."""

    _omit_if_none = frozenset({"best_in_icp_ci"})

    excluded_share: float | None = None
    n_accounts: int = 0
    excludes_more_than_includes: bool = False
    best_in_icp_share: float | None = None
    n_best: int = 0
    best_in_icp_ci: list[float | None] | None = None


class CriterionCheck(_Section):
    """A criterion's lift among the post-cut best customers against its build-time lift."""

    _omit_if_none = frozenset({"build_lift_ci"})

    rule: str
    build_lift: float | None = None
    build_lift_ci: list[float | None] | None = None
    lift_after: float | None = None
    lift_after_ci: list[float | None] = Field(default_factory=list)
    n_covered: int = 0
    weakened: bool = False
    unconfirmed: bool = False


class TierRate(_Section):
    """One tier's held-out success rate: k successes of n, with its 95% Wilson interval."""

    tier: str
    k: int
    n: int
    rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class TierInversion(_Section):
    """A higher tier converting below a lower one on held-out data.

    ``distinct`` is True when the two intervals do not overlap (a real inversion: the test
    fails); False when they overlap (the tiers are not distinguishable: amber)."""

    higher: str
    lower: str
    distinct: bool


class TierOrderCheck(_Section):
    """Tier 1 ≥ Tier 2 ≥ Tier 3 ≥ Non-fit within their intervals, on the held-out outcomes."""

    tiers: list[TierRate] = Field(default_factory=list)
    inversions: list[TierInversion] = Field(default_factory=list)
    in_order: bool = True


class BarCheck(_Section):
    """The held-out tiers against MadKudu's published bar.

    The top tiers (Tier 1+2) should be 15–35% of the leads and hold ≥ 60% of the conversions
    (``concentration_met``), and the top tier should convert ≥ 10× the bottom one
    (``ratio_met``). Leads are the accounts with a held-out closed deal (``unit`` says so);
    conversions those with a won one. The ratio's interval is Katz's log interval.
    """

    unit: str = "accounts"
    n_leads: int = 0
    n_converted: int = 0
    top_share_of_leads: float | None = None
    top_share_of_conversions: float | None = None
    bottom_tier: str | None = None
    top_bottom_ratio: float | None = None
    ratio_ci_low: float | None = None
    ratio_ci_high: float | None = None
    # the bar itself, so a reader sees what was asked
    max_top_share: float = 0.35
    min_conversion_share: float = 0.60
    min_ratio: float = 10.0
    concentration_met: bool = False
    ratio_met: bool = False

    @property
    def met(self) -> bool:
        return self.concentration_met and self.ratio_met


class ColumnCarrier(_Section):
    """A scorecard input and how much of the ranking it carries: its single-column held-out AUC
    (None when not measured) and its share of the scorecard's point range."""

    name: str
    columns: list[str] = Field(default_factory=list)
    auc: float | None = None
    points_share: float | None = None


class TooGoodCheck(_Section):
    """A fit model whose held-out AUC is above ``threshold``: evidence of leakage, not of a great
    ICP. ``carriers`` are the inputs that carry the ranking, most first."""

    auc: float
    threshold: float
    carriers: list[ColumnCarrier] = Field(default_factory=list)


class CalibrationCheck(_Section):
    """The score → probability map calibrated on the held-out cut (isotonic regression).

    ``ece_before`` is the expected calibration error of the build's own fit_probability on the
    held-out rows, ``ece_after`` that of the isotonic map, cross-fitted (each row's probability
    comes from a map fitted without it), both in ``bins`` equal-width bins over ``n`` rows of
    which ``n_positive`` were successes. ``probability`` maps each score 0–100 to a probability
    (fitted on every held-out row); ``applied`` says whether the profile's scorecard now uses it
    (``note`` says why not).
    """

    method: str = "isotonic"
    outcome: str = ""
    target: str = "won"
    n: int = 0
    n_positive: int = 0
    bins: int = 10
    ece_before: float | None = None
    ece_after: float | None = None
    brier_before: float | None = None
    brier_after: float | None = None
    probability: list[float] = Field(default_factory=list)
    applied: bool = False
    note: str = ""


class VerdictChecks(_Section):
    """What page 1's verdict rests on beyond the AUC: tier order, the published bar, too good."""

    _omit_if_none = frozenset({"bar", "too_good"})

    tier_order: TierOrderCheck = Field(default_factory=TierOrderCheck)
    bar: BarCheck | None = None
    too_good: TooGoodCheck | None = None


class VerdictCount(_Section):
    """Won deals ``k`` of ``n`` held-out closed deals in a group, the rate and its 95% interval."""

    k: int
    n: int
    rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class HeldOutVerdict(_Section):
    """Pass, warn, fail or missing: does the ICP rank held-out deals better than chance, does
    Tier 1 win more often than every other tier together, are the tiers in order, do they meet
    the published bar, and is the result not too good to be true? (icpkit.evaluation.validation;
    what it rests on is ``ValidationSection.checks``)"""

    # absent in profiles written before amber verdicts: left out of their JSON, which round-trips
    _omit_if_unset: ClassVar[frozenset[str]] = frozenset({"warnings"})

    method: str = Field("out-of-time", description="out-of-time or cross-validated.")
    outcome: str = "won vs lost deals"
    auc: Estimate | None = None
    tier1: VerdictCount | None = None
    nonfit: VerdictCount | None = None
    rest: VerdictCount | None = Field(None, description="Every tier but Tier 1.")
    status: Literal["pass", "warn", "fail", "missing"] = Field(
        description="pass; warn (amber, 'CAUTION': tiers out of order within their intervals, "
        "the published bar not met, or a held-out AUC above 0.95, too good for fit data); fail "
        "(AUC interval includes 0.5, Tier 1 not above the rest, or tiers out of order beyond "
        "their intervals); missing (no held-out AUC)."
    )
    reasons: list[str] = Field(default_factory=list, description="Why it failed or is missing.")
    warnings: list[str] = Field(
        default_factory=list, description="Why it is amber (warn), or what else a failure shows."
    )
    lines: list[str] = Field(
        default_factory=list, description="The verdict in a few sentences (head, why, the bar)."
    )


# The groups every KPI is given for, in the order tables show them.
KPI_GROUPS: Final = (*TIERS, "ICP", "Non-ICP", "All")
# Below this n a group's KPI is weak evidence.
MIN_GROUP_N: Final = 30


class ValidationSection(_Section):
    """The backtest: KPIs by tier and ICP vs non-ICP, discrimination, calibration, coverage
    (computed by ``icpkit.evaluation.validation.evaluate``, stored with the profile).

    ``kpis`` holds one estimate per (group, KPI) with its n and 95% interval. ``evidence`` is
    ``strong``, ``moderate`` or ``weak``; ``caveats`` say in words why the evidence is limited.
    ``checks`` hold what the verdict rests on beyond the AUC, ``calibration`` the held-out
    calibration of fit_probability (both absent in profiles written before them).
    """

    _omit_if_none = frozenset({"checks", "calibration"})

    cut_date: str | None = Field(None, description="The cut date (out-of-time), or None.")
    n_accounts: int = 0
    n_deals: int = Field(0, description="Deals created on or after the cut.")
    n_closed: int = 0
    kpis: list[Estimate] = Field(default_factory=list)
    auc: Estimate | None = Field(None, description="AUC of the fit score, won vs lost deals.")
    top_decile_lift: float | None = None
    gains: list[GainsRow] = Field(default_factory=list)
    brier: float | None = None
    reliability: list[ReliabilityRow] = Field(default_factory=list)
    madkudu: BacktestBar = Field(default_factory=BacktestBar)
    coverage: CoverageCheck = Field(default_factory=CoverageCheck)
    criteria: list[CriterionCheck] = Field(default_factory=list)
    evidence: str = "weak"
    caveats: list[str] = Field(default_factory=list)
    accounts_with_closed: dict[str, int] = Field(
        default_factory=dict, description="Group → accounts with a closed deal after the cut."
    )
    method: str = Field(
        "out-of-time",
        description="out-of-time, or cross-validated when dates cannot support a cut.",
    )
    outcome: str = "won vs lost deals"
    verdict: HeldOutVerdict | None = Field(
        None, description="The held-out verdict shown on page 1 (None: no verdict was computed)."
    )
    checks: VerdictChecks | None = Field(
        None, description="What the verdict rests on: tier order, the published bar, too good."
    )
    calibration: CalibrationCheck | None = Field(
        None, description="fit_probability calibrated on the held-out cut (isotonic), its ECE."
    )

    def kpi(self, group: str, name: str) -> Estimate | None:
        """The estimate of one KPI for one group, or None."""
        return next((k for k in self.kpis if k.group == group and k.kpi == name), None)

    def weakened_criteria(self) -> list[str]:
        """Rules whose lift over the post-cut best customers is no longer clearly above 1."""
        return [c.rule for c in self.criteria if c.weakened]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe dict (NaN and infinities are None)."""
        return self.model_dump(mode="json")

    def to_frame(self, *, wide: bool = False) -> pl.DataFrame:
        """Groups × KPIs, long: group, kpi, value, n, ci_low, ci_high, weak.

        ``wide=True``: one row per group and one column per KPI, each cell
        ``value [low, high] n=…`` for printing.
        """
        import polars as pl

        rows = [
            {**k.to_dict(), "weak": k.n < MIN_GROUP_N}
            for k in self.kpis
        ]  # fmt: skip
        schema = {"group": pl.Utf8, "kpi": pl.Utf8, "value": pl.Float64, "n": pl.Int64,
                  "ci_low": pl.Float64, "ci_high": pl.Float64, "weak": pl.Boolean}  # fmt: skip
        frame = pl.DataFrame(rows, schema=schema)
        if not wide:
            return frame
        cells = {(k.group, k.kpi): _kpi_text(k) for k in self.kpis}
        wide_frame = frame.with_columns(
            pl.struct("group", "kpi")
            .map_elements(lambda r: cells[(r["group"], r["kpi"])], return_dtype=pl.Utf8)
            .alias("cell")
        ).pivot(on="kpi", index="group", values="cell")
        order = pl.DataFrame({"group": list(KPI_GROUPS)}).with_row_index("_o")
        return wide_frame.join(order, on="group", how="left").sort("_o").drop("_o")

    def summary_lines(self) -> list[str]:
        """A few lines in words: what the backtest shows and how much to trust it."""
        lines = list(self.verdict.lines) if self.verdict is not None else []
        where = (
            "Cross-validated estimate (not out-of-time)"
            if self.method == "cross-validated"
            else f"Backtest from {self.cut_date}"
        )
        lines += [
            f"{where}: {self.n_deals} deals ({self.n_closed} closed) "
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
        if m.flagged_share is not None:
            ratio = "n/a" if m.top_bottom_ratio is None else f"{m.top_bottom_ratio:.1f}×"
            wins = "n/a" if m.wins_share is None else f"{m.wins_share:.0%}"
            lines.append(
                f"Tier 1+2 flag {m.flagged_share:.0%} of accounts and hold {wins} of the wins; "
                f"top ÷ bottom tier win rate {ratio}."
            )
        c = self.coverage
        if c.best_in_icp_share is not None:
            excluded = "?" if c.excluded_share is None else f"{c.excluded_share:.0%}"
            lines.append(
                f"The ICP describes {c.best_in_icp_share:.0%} of the best customers after "
                f"the cut and excludes {excluded} of accounts."
            )
        weak = self.weakened_criteria()
        if weak:
            lines.append("Criteria whose evidence weakened: " + "; ".join(weak))
        unconfirmed = [c.rule for c in self.criteria if c.unconfirmed]
        if unconfirmed:
            lines.append(
                "Criteria not yet confirmed after the cut (too few accounts to tell): "
                + "; ".join(unconfirmed)
            )
        lines += [f"Caveat: {c}" for c in self.caveats]
        return lines

    def to_text(self) -> str:
        return "\n".join(self.summary_lines())


def _kpi_text(k: Estimate) -> str:
    return k.text(percent=k.kpi in ("conversion", "win_rate", "churn_rate"))


# ---------------------------------------------------------------------------------------------
# Success definition (icpkit.outcomes) and data quality (icpkit.pipeline)


class SuccessMetricWeight(_Section):
    """One ingredient of the success score as it was used."""

    name: str
    weight: float = 1.0
    direction: Literal["higher", "lower"] = "higher"


class ScoringTarget(_Section):
    """What the scorecard predicts and why (icpkit.scoring.learn.choose_target)."""

    target: str = Field(description="'won' (deals won) or 'best' (best customers).")
    chosen: Literal["config", "auto"] = Field(
        description="Set in icpkit.toml, or chosen from the data."
    )
    why: str = ""
    name: str = Field("", description="What the success rate counts, in words.")
    probability_of: str = Field("", description="What fit_probability is the probability of.")


class SuccessDefinition(_Section):
    """Metrics, weights and group sizes behind best/worst; ``as_of`` is the data date."""

    _omit_if_none = frozenset({"churned_is_worst", "lost_only_is_worst", "as_of", "scoring_target"})

    metrics: list[SuccessMetricWeight] = Field(default_factory=list)
    best_share: float | None = None
    worst_share: float | None = None
    churned_is_worst: bool | None = None
    lost_only_is_worst: bool | None = None
    as_of: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    scoring_target: ScoringTarget | None = Field(
        None, description="What the scorecard predicts and why."
    )


class DataQualitySection(_Section):
    """Load warnings (first 200 of ``n_warnings``), rows per table, missing tables and what they
    would unlock."""

    warnings: list[str] = Field(default_factory=list)
    n_warnings: int = 0
    tables: dict[str, int] = Field(default_factory=dict)
    missing_tables: dict[str, str] = Field(default_factory=dict)


class ColumnFate(_Section):
    """What became of one column of the accounts table (``icpkit.data.attributes.FATES``):
    used as an attribute, grouped (frequent levels + other), or left out and why — an id, empty,
    constant, placeholder-only, personal data, a sales-process person, a date, free text,
    leakage, excluded or not listed in the config."""

    column: str
    fate: str
    reason: str


# ---------------------------------------------------------------------------------------------
# Discovery's evidence tables (written by icpkit.discovery: single traits and reported segments)


class SingleTrait(_Section):
    """One readable single-trait row: a condition on one attribute, measured against the best and
    against the worst customers (icpkit.discovery.traits).

    ``share_*`` is the share of the group with the trait (Wilson 95% interval ``_lo``–``_hi``),
    ``share_not_*`` the share among the other ranked accounts; ``lift_*`` the group's rate with the
    trait ÷ its overall rate (interval ``_lo``–``_hi``); ``p_*`` two-sided, ``q_*`` selection-aware
    (icpkit.discovery.selection: adjusted within the attribute for the choice among its rows,
    Benjamini–Hochberg across attributes). Intervals and p-values are None where undefined.
    """

    _omit_if_none = frozenset({"label", "kind"})

    rule: str = Field(description="The condition in rule text, e.g. industry = 'Software'.")
    label: str | None = Field(None, description="The condition in plain words.")
    attribute: str = Field(description="The attribute (column) the condition is on.")
    kind: Literal["bin", "threshold", "level", "tag", "missing"] | None = Field(
        None, description="bin (one value range), threshold (best single cut), level, tag, missing."
    )
    n_best: int = 0
    share_best: float | None = None
    share_best_lo: float | None = None
    share_best_hi: float | None = None
    share_not_best: float | None = None
    lift_best: float | None = None
    lift_best_lo: float | None = None
    lift_best_hi: float | None = None
    p_best: float | None = None
    q_best: float | None = None
    support: int = Field(description="Ranked accounts with the trait.")
    n_worst: int = 0
    share_worst: float | None = None
    share_worst_lo: float | None = None
    share_worst_hi: float | None = None
    share_not_worst: float | None = None
    lift_worst: float | None = None
    lift_worst_lo: float | None = None
    lift_worst_hi: float | None = None
    p_worst: float | None = None
    q_worst: float | None = None


class ReportedSegment(_Section):
    """A segment discovery reported for the best customers, with its full evidence.

    Measured on every ranked account (``support``, ``positives`` of the target group, ``coverage``
    = recall, ``precision``, ``lift`` with ``lift_ci``) and tested on the held-out half
    (``holdout_*``); ``equivalents`` cover the same accounts, ``variants`` were collapsed under it
    and ``also`` says them in words. Profiles written before version 3 may carry ``kind``,
    ``description`` and ``points`` instead of the search's own figures.
    """

    _omit_if_none = frozenset({"quality", "positives", "holdout_support", "holdout_positives"})
    _omit_if_unset = frozenset({"kind", "description", "points"})

    rule: str = Field(description="The segment in rule text (conditions joined by AND).")
    quality: float | None = Field(None, description="The search's quality score of the segment.")
    support: int = Field(description="Ranked accounts the segment covers.")
    positives: int | None = Field(None, description="Covered accounts in the target group.")
    coverage: float
    precision: float
    lift: float
    lift_ci: tuple[float, float]
    holdout_support: int | None = None
    holdout_positives: int | None = None
    holdout_lift: float | None = None
    p_value: float = 1.0
    q_value: float = 1.0
    significant: bool = False
    evidence: Evidence = "insufficient"
    equivalents: list[str] = Field(default_factory=list)
    variants: list[str] = Field(default_factory=list)
    also: list[str] = Field(default_factory=list, description="The variants in plain words.")
    kind: Literal["criterion", "disqualifier"] | None = None
    description: str | None = None
    points: float | None = None


class ExcludedAttribute(_Section):
    """A column left out of the ICP, and why (personal data, a date, leakage or an identifier)."""

    column: str
    reason: str


# ---------------------------------------------------------------------------------------------
# Provenance (icpkit.pipeline) and partitions (icpkit.discovery.compare)


class TableFingerprint(_Section):
    """Row count, column names and a content hash of one source table."""

    rows: int
    columns: list[str] = Field(default_factory=list)
    hash: str = Field(description="16 hex digits of polars' row hashes with the column names.")


class Provenance(_Section):
    """Where the profile came from: icpkit version, config hash, source files, data fingerprint."""

    _omit_if_none = frozenset({"icpkit_version", "config_hash", "fingerprint"})

    icpkit_version: str | None = None
    config_hash: str | None = None
    sources: dict[str, str] = Field(
        default_factory=dict, description="Table name → the file or query it was read from."
    )
    fingerprint: dict[str, TableFingerprint] | None = Field(
        None,
        description="Table name → its fingerprint, to tell whether two builds saw the same data.",
    )


class PartitionProfile(_Section):
    """One partition's own ICP (``[[icps]]`` or ``build --by``): its rule, counts and findings."""

    name: str
    where: str = Field(description="The rule that selects the partition's accounts.")
    n_accounts: int = 0
    n_ranked: int = 0
    n_best: int = 0
    n_worst: int = 0
    statement: str = ""
    criteria: list[RuleEvidence] = Field(default_factory=list)
    disqualifiers: list[RuleEvidence] = Field(default_factory=list)
    note: str = Field("", description="Why the partition gives no evidence (e.g. too small).")


class PartitionMeasure(_Section):
    """A rule measured inside one partition: accounts covered, target hits, lift with interval."""

    support: int
    hits: int
    lift: float | None = None
    lift_ci: tuple[float, float] | None = None
    evidence: bool = Field(description="Whether the partition has enough accounts to count.")


class PartitionRule(_Section):
    """A rule some partition's ICP reported, measured in every partition, with the verdict."""

    rule: str
    kind: Literal["criterion", "disqualifier"]
    reported_by: list[str] = Field(default_factory=list)
    verdict: Literal["differs", "shared", "unclear"]
    p_differs: float = Field(description="p-value that the rule's target rate is equal everywhere.")
    per_icp: dict[str, PartitionMeasure] = Field(
        default_factory=dict, description="Partition name → the rule's measures there."
    )


class PartitionsSection(_Section):
    """Several ICPs side by side and what differs between them (icpkit.discovery.compare)."""

    icps: list[PartitionProfile] = Field(default_factory=list)
    rules: list[PartitionRule] = Field(default_factory=list)
    alpha: float = 0.05


# ---------------------------------------------------------------------------------------------
# The profile


class ThemeTestEntry(BaseModel):
    """One theme in one source family under one comparison (group A against group B)."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="voice (all but lost reasons), lost_reason, or one source")
    comparison: str = Field(description="best_vs_rest, lost_vs_won or churned_vs_retained")
    share_by_group: dict[str, float]
    n_by_group: dict[str, int]
    lift: float | None = None
    lift_ci: tuple[float | None, float | None] = (None, None)
    q_value: float = 1.0
    direction: Literal["higher", "lower", "none"] = "none"


class SubThemeEntry(BaseModel):
    """A part of a theme whose headline difference is significant, tested in that comparison.

    Only themes with a significant headline test are split (a sub-theme is never reported when
    its parent shows nothing); q-values are Benjamini–Hochberg across the parts of one theme.
    """

    model_config = ConfigDict(frozen=True)

    label: str
    keywords: list[str] = Field(default_factory=list)
    n_notes: int = 0
    share_by_group: dict[str, float] = Field(default_factory=dict)
    lift: float | None = None
    lift_ci: tuple[float | None, float | None] = (None, None)
    q_value: float = 1.0
    direction: Literal["higher", "lower", "none"] = "none"


class ThemeEntry(_Section):
    """A pain theme (or lost reason) found in the notes, with its headline evidence.

    The headline is best vs rest for the customers' voice and lost vs won for lost reasons;
    ``tests`` holds every comparison and source family. Quotes have PII removed.
    """

    model_config = ConfigDict(frozen=True)
    # absent in profiles written before sub-themes: left out of their JSON, which round-trips
    _omit_if_unset: ClassVar[frozenset[str]] = frozenset({"sub_themes"})

    label: str
    keywords: list[str] = Field(default_factory=list)
    origin: Literal["found", "declared"] = "found"
    family: Literal["voice", "lost_reason"] = "voice"
    n_notes: int = 0
    n_accounts: int = 0
    share_by_group: dict[str, float] = Field(default_factory=dict)
    lift: float | None = None
    lift_ci: tuple[float | None, float | None] = (None, None)
    q_value: float = 1.0
    direction: Literal["higher", "lower", "none"] = "none"
    comparison: str | None = None
    quotes: list[str] = Field(default_factory=list)
    by_source: dict[str, int] = Field(default_factory=dict)
    tests: list[ThemeTestEntry] = Field(default_factory=list)
    sub_themes: list[SubThemeEntry] | None = None


class ThemesSection(BaseModel):
    """Pain themes from the notes table (icpkit.themes)."""

    model_config = ConfigDict(frozen=True)

    embedding: str
    n_notes: int
    n_unassigned: int
    warnings: list[str] = Field(default_factory=list)
    themes: list[ThemeEntry] = Field(default_factory=list)


class PainPoint(_Section):
    """A pain theme the customers' voice raises more often than the rest's, for talking points."""

    _omit_if_none = frozenset({"share", "share_in_group"})

    theme: int | str = Field(description="The theme's id in the themes section.")
    label: str
    share: float | None = Field(None, description="Share of the best customers voicing it.")
    lift: float | None = None
    q_value: float = 1.0
    quote: str | None = Field(None, description="One quote, PII removed.")
    share_in_group: float | None = Field(None, description="Share of the audience voicing it.")


class TalkingPoints(_Section):
    """What to say to one audience (a tier or a persona), each point backed by a figure."""

    audience: str
    n_accounts: int = 0
    pains: list[PainPoint] = Field(default_factory=list)
    achievements: list[str] = Field(default_factory=list)
    proof: list[str] = Field(default_factory=list, description="Kinds of customers, never one.")
    objections: list[PainPoint] = Field(
        default_factory=list, description="Lost-reason themes more common where nobody bought."
    )


class StatementParts(_Section):
    """The pieces the completed statement is made of (each the words for 'not enough evidence'
    when the data cannot say)."""

    pains: str = Field(description="The pains the best customers voice most, joined.")
    metrics: str = Field(description="How they measure success (their achievements).")
    buying_behaviour: str = Field(description="How they buy (committee, cycle).")
    triggers: str = Field(description="The events after which they start searching.")


class MessagingSection(BaseModel):
    """Talking points and the completed ICP statement, assembled from the evidence (no LLM)."""

    model_config = ConfigDict(frozen=True)

    statement: str
    parts: StatementParts
    tiers: list[TalkingPoints] = Field(default_factory=list)
    personas: list[TalkingPoints] = Field(default_factory=list)
    disqualifier_evidence: list[str] = Field(default_factory=list)


class SignalRatios(_Section):
    """Two ratios within fit tiers: deals opened, and deals won, after the signal vs without."""

    opening: float | None = None
    winning: float | None = None


class SignalRatioIntervals(_Section):
    """95% intervals of :class:`SignalRatios` (None where undefined)."""

    opening: tuple[float, float] | None = None
    winning: tuple[float, float] | None = None


class SignalValueEvidence(_Section):
    """One value class of a signal type (a funding round, a role, a tool) with enough deals."""

    value_class: str
    n_signals: int = 0
    n_deals: int = 0
    lift_opening: float | None = None
    lift_winning: float | None = None
    lift_winning_ci: tuple[float | None, float | None] | None = None
    p_value: float = 1.0


class SignalIntake(_Section):
    """What happened to the rows of the signals table on the way in (all counts are rows): used,
    dropped and why (``notes``, in words), events per type (icpkit.signals.sources)."""

    # absent in profiles written before negative amounts were counted: left out of their JSON
    _omit_if_unset: ClassVar[frozenset[str]] = frozenset({"n_negative_amount"})

    n_rows: int = 0
    n_used: int = 0
    n_unknown_domain: int = 0
    n_unmatched: int = 0
    n_bad_date: int = 0
    bad_date_rows: list[int] = Field(default_factory=list, description="The first bad rows.")
    n_future: int = 0
    n_duplicate: int = 0
    n_negative_amount: int | None = Field(
        None, description="Funding amounts stated as negative, read as missing (None: not counted)."
    )
    types: dict[str, int] = Field(default_factory=dict, description="Events per signal type.")
    notes: list[str] = Field(default_factory=list, description="The dropped rows in words.")


class TopDecileLift(_Section):
    """The event rate in the top tenth of a ranking ÷ the overall rate, with its interval."""

    value: float | None = None
    ci: tuple[float | None, float | None] | None = None
    n: int = 0


class RankingScores(_Section):
    """How one ranking orders accounts for one outcome: AUC with interval, top-decile lift."""

    auc: float | None = None
    auc_ci: tuple[float | None, float | None] | None = None
    top_decile_lift: TopDecileLift = Field(default_factory=TopDecileLift)


class AucGain(_Section):
    """AUC of fit + intent minus AUC of fit alone, with a bootstrap 95% interval."""

    value: float | None = None
    ci: tuple[float | None, float | None] | None = None


class RankingComparison(_Section):
    """Fit alone against fit + intent for one outcome (a deal opened, or won)."""

    _omit_if_none = frozenset({"auc_gain"})

    n_accounts: int = 0
    n_events: int = 0
    fit: RankingScores = Field(default_factory=RankingScores)
    fit_intent: RankingScores = Field(default_factory=RankingScores)
    auc_gain: AucGain | None = Field(
        None, description="Absent when every account or none had the event."
    )


class SignalsBacktest(_Section):
    """Fit + intent vs fit alone after the validation cut, everything learned before it; or why
    it could not run (``available`` False with the ``reason``)."""

    _omit_if_none = frozenset(
        {"reason", "cut", "horizon_days", "n_with_intent", "opening", "winning"}
    )

    available: bool
    reason: str | None = None
    cut: str | None = None
    horizon_days: int | None = None
    n_with_intent: int | None = Field(None, description="Accounts whose intent lift exceeds 1.")
    opening: RankingComparison | None = None
    winning: RankingComparison | None = None


class SignalTypeEvidence(_Section):
    """What one buying-signal type is worth, learned from the CRM's history (icpkit.signals).

    ``lift`` and ``lift_ci`` hold two ratios within fit tiers: ``opening`` (deals opened per
    account-day in the ``window_days`` after the signal vs accounts without it) and ``winning``
    (win rate of deals opened in that window vs deals without the signal). ``decay`` is
    'exponential' (``half_life_days`` with ``half_life_ci``), 'window' (flat for ``window_days``,
    interval ``window_ci``) or 'none' for a type without a significant effect, which weighs
    nothing in the intent score. ``peak_*`` are the fitted effects on the day of the signal.
    """

    model_config = ConfigDict(frozen=True)
    # absent in profiles written before the decay interval: left out of their JSON
    _omit_if_unset: ClassVar[frozenset[str]] = frozenset({"decay_ci_ratio", "decay_cannot_tell"})

    type: str
    window_days: int
    decay: Literal["exponential", "window", "none"] = "none"
    half_life_days: float | None = None
    half_life_ci: tuple[float, float] | None = None
    window_ci: tuple[float, float] | None = None
    lift: SignalRatios = Field(default_factory=SignalRatios)
    lift_ci: SignalRatioIntervals = Field(default_factory=SignalRatioIntervals)
    p_value: float = 1.0
    q_value: float = 1.0
    significant: bool = False
    evidence: Evidence | Literal["none"] = "insufficient"
    n_signals: int = 0
    n_deals: int = Field(0, description="Closed deals opened within the window after the signal.")
    n_openings: int = 0
    n_wins: int = 0
    peak_opening_ratio: float = 1.0
    peak_win_odds_ratio: float = 1.0
    by_value: list[SignalValueEvidence] = Field(default_factory=list)
    decay_ci_ratio: float | None = Field(
        None, description="High / low end of the decay's 95% interval (half-life or window)."
    )
    decay_cannot_tell: bool | None = Field(
        None,
        description="True when the data cannot tell how fast the effect fades: the decay's "
        "interval spans an order of magnitude (ratio >= 10), or the type has no effect.",
    )


class SignalsSection(BaseModel):
    """Buying signals: per-type evidence, the backtest of fit + intent, or why it is unavailable."""

    model_config = ConfigDict(frozen=True)

    available: bool
    reason: str = ""
    as_of: str | None = None
    lookback_days: int = 365
    strata: list[str] = Field(default_factory=list, description="Fit tiers compared within.")
    intake: SignalIntake = Field(default_factory=SignalIntake)
    types: list[SignalTypeEvidence] = Field(default_factory=list)
    backtest: SignalsBacktest | None = None

    def triggers(self) -> list[SignalTypeEvidence]:
        """The significant types that raise openings or wins, strongest first."""
        return [
            t for t in self.types
            if t.significant and (t.peak_opening_ratio > 1 or t.peak_win_odds_ratio > 1)
        ]  # fmt: skip


class BehaviourTrait(BaseModel):
    """One behavioural trait with its measured effect (product usage, issue 28)."""

    model_config = ConfigDict(frozen=True)

    rule: str = Field(description="The condition, e.g. usage_integrations in [2, inf).")
    words: str = Field(description="The condition in plain words.")
    outcome: str = Field(description="'renew' (customers not churned) or 'convert' (won).")
    rate_with: float = Field(description="Outcome rate of the accounts with the trait.")
    rate_without: float = Field(description="Outcome rate of the accounts without it.")
    ratio: float = Field(description="rate_with ÷ rate_without.")
    n_with: int
    n_without: int
    q_value: float = Field(description="BH q-value of the trait in discovery's single traits.")
    sentence: str = Field(description="The one-pager's sentence.")


class PqaBand(BaseModel):
    """One PQA band of the held-out check: its accounts and how many converted later."""

    model_config = ConfigDict(frozen=True)

    band: str
    accounts: int
    conversions: int
    rate: float
    rate_low: float | None = Field(None, description="95% Wilson interval of the rate: low end.")
    rate_high: float | None = Field(None, description="95% Wilson interval: high end.")


class PqaCheck(BaseModel):
    """The held-out check of product-qualified accounts (MadKudu's bar)."""

    model_config = ConfigDict(frozen=True)

    cut: str = Field(description="Accounts open at this date, scored on what was known then.")
    horizon_days: int
    accounts: int
    conversions: int
    top30_share_pqa: float = Field(description="Share of later conversions in the PQA top 30%.")
    top30_share_fit: float = Field(description="The same, ranking by fit alone.")
    top_vs_bottom_pqa: float | None = Field(
        None, description="Conversion rate of the top band (very high + high) ÷ the low band."
    )
    top_vs_bottom_fit: float | None = None
    top_vs_bottom_pqa_ci: tuple[float, float] | None = Field(
        None, description="95% interval of top_vs_bottom_pqa (MOVER-R over Wilson)."
    )
    top_vs_bottom_fit_ci: tuple[float, float] | None = None
    very_high_vs_low_pqa: float | None = Field(
        None,
        description="Conversion rate of the published top band alone ('very high', top 1%) ÷ "
        "the low band.",
    )
    very_high_vs_low_fit: float | None = None
    very_high_vs_low_pqa_ci: tuple[float, float] | None = Field(
        None, description="95% interval of very_high_vs_low_pqa (MOVER-R over Wilson)."
    )
    very_high_vs_low_fit_ci: tuple[float, float] | None = None
    bands: list[PqaBand] = Field(default_factory=list)
    bands_fit: list[PqaBand] = Field(
        default_factory=list, description="The same bands when ranking by fit alone."
    )


class UsageSection(BaseModel):
    """Product usage: behavioural traits with evidence, and the PQA held-out check."""

    model_config = ConfigDict(frozen=True)

    features: list[str] = Field(default_factory=list, description="usage_ columns measured.")
    behaviour: list[BehaviourTrait] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    pqa: PqaCheck | None = None


# ---------------------------------------------------------------------------------------------
# Build timings (written by icpkit.timing.StepClock; issue 30)


class StepTiming(_Section):
    """One step of a build and its wall time in seconds."""

    name: str = Field(
        description="loading, outcomes, guard, discovery, scorecard, partitions, scoring, "
        "validation, signals, themes, personas, feedback or saving."
    )
    seconds: float


class BuildTimings(_Section):
    """Where the build's time went: every step in order, the total and the peak memory.

    The steps run back to back, so their seconds add up to ``total_seconds`` (the build from
    loading the data on). ``saving`` (writing the version) is known only once the stored copy is
    written: it is in ``icp-profile.json`` and the CLI's output, not in the stored version.
    ``peak_rss_mb`` is the process's peak resident memory when the build ended (imports and
    anything the process did before the build included). Absent from profiles built before
    issue 30 and from hand-written specs. ``second_process`` (absent when unused) is what ran
    in the build's second process, in its own wall seconds.
    """

    _omit_if_none = frozenset({"peak_rss_mb", "second_process", "second_process_peak_rss_mb"})

    steps: list[StepTiming] = Field(default_factory=list)
    total_seconds: float = 0.0
    peak_rss_mb: float | None = None
    # work done in a second process (``[build] workers = 2``) while the steps above ran: its own
    # wall seconds (overlapping the steps, so not in ``total_seconds``) and its peak memory
    second_process: list[StepTiming] | None = None
    second_process_peak_rss_mb: float | None = None

    def seconds(self, name: str) -> float:
        """Seconds of the named step (summed if it ran more than once; 0 if it never ran)."""
        return sum(s.seconds for s in self.steps if s.name == name)


class IcpProfile(BaseModel):
    """The whole ICP. ``to_json``/``from_json`` round-trip exactly; ``from_json`` migrates."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    name: str = "icp"
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    origin: Literal["learned", "hand-written"] = "learned"
    statement: str = ""
    criteria: list[RuleEvidence] = Field(default_factory=list)
    disqualifiers: list[RuleEvidence] = Field(default_factory=list)
    success_definition: SuccessDefinition = Field(default_factory=SuccessDefinition)
    counts: dict[str, int] = Field(
        default_factory=dict,
        description="n_accounts, n_best, n_worst, n_deals… the evidence rests on.",
    )
    single_traits: list[SingleTrait] = Field(
        default_factory=list, description="Readable single-trait rows of every attribute."
    )
    segments: list[ReportedSegment] = Field(
        default_factory=list, description="Every reported segment with its full evidence."
    )
    scorecard: ScorecardSection | None = None
    tiers: TiersSection | None = None
    validation: ValidationSection | None = None
    data_quality: DataQualitySection | None = None
    caveats: list[str] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)
    excluded_attributes: list[ExcludedAttribute] = Field(
        default_factory=list,
        description="Columns left out of the ICP with the reason ({column, reason}): personal "
        "data, dates, and what the leakage/identifier guard flagged.",
    )
    column_fates: list[ColumnFate] | None = Field(
        None,
        description="Every accounts column and what became of it (used, grouped, or left out "
        "and why), in table order.",
    )
    partitions: PartitionsSection | None = Field(
        None,
        description="Several ICPs side by side ([[icps]]): each partition's ICP and the "
        "comparison (icpkit.discovery.compare).",
    )
    themes: ThemesSection | None = None
    messaging: MessagingSection | None = None
    personas: PersonasSection | None = Field(
        None, description="Buyer personas and the buying committee (when contacts were given)."
    )
    signals: SignalsSection | None = None
    usage: UsageSection | None = Field(
        None, description="Product usage: behavioural traits and the PQA check (issue 28)."
    )
    feedback: FeedbackSection | None = Field(
        None,
        description="What reps said about the tiers they were shown (icpkit.lifecycle.feedback); "
        "absent when nobody gave feedback.",
    )
    timings: BuildTimings | None = Field(
        None, description="Wall time of every build step (absent in older profiles)."
    )

    # No return annotation (see _Section): the serialised schema stays the model's own.
    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):
        out: dict[str, Any] = handler(self)
        # written before column fates existed: a profile without them round-trips unchanged
        if "column_fates" in out and out["column_fates"] is None:
            del out["column_fates"]
        if "usage" in out and out["usage"] is None:  # profiles without usage stay unchanged
            del out["usage"]
        # likewise a profile from before build timings (issue 30), or one built without them
        if "timings" in out and out["timings"] is None:
            del out["timings"]
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> IcpProfile:
        """Read a profile of any supported schema version (older ones are migrated)."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"profile JSON is not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError("profile JSON must be an object")
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> IcpProfile:
        """A profile from parsed JSON of any supported schema version (older ones are migrated)."""
        try:
            return cls.model_validate(migrate(raw))
        except ValueError as exc:
            raise ConfigError(f"profile JSON does not match the IcpProfile schema: {exc}") from None

    @classmethod
    def read(cls, path: Path) -> IcpProfile:
        if not path.exists():
            raise ConfigError(f"{path}: no such profile file")
        return cls.from_json(path.read_text(encoding="utf-8"))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# ---------------------------------------------------------------------------------------------
# Migrations: MIGRATIONS[n] lifts a raw profile dict from schema version n to n + 1.


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept scorecard, tiers, validation, success definition and data quality as
    free-form dicts. Spellings some version-1 writers used are renamed to the typed fields
    (``tiers.madkudu`` → ``tiers.bar``, ``tiers.tiers`` → ``tiers.table``, a scorecard wrapped as
    ``{"scorecard": {...}}``, a metric named ``metric``); empty sections become absent ones."""
    out = dict(raw)
    tiers = out.get("tiers")
    if isinstance(tiers, dict):
        tiers = dict(tiers)
        if "madkudu" in tiers and "bar" not in tiers:
            tiers["bar"] = tiers.pop("madkudu")
        if "tiers" in tiers and "table" not in tiers:
            tiers["table"] = tiers.pop("tiers")
        out["tiers"] = tiers or None
    card = out.get("scorecard")
    if isinstance(card, dict) and "scorecard" in card and "features" not in card:
        out["scorecard"] = card["scorecard"]
    for key in ("scorecard", "validation", "data_quality"):
        if out.get(key) == {}:
            out[key] = None
    success = out.get("success_definition")
    if isinstance(success, dict) and isinstance(success.get("metrics"), list):
        metrics = [
            {("name" if k == "metric" else k): v for k, v in m.items()}
            if isinstance(m, dict)
            else m
            for m in success["metrics"]
        ]
        out["success_definition"] = {**success, "metrics": metrics}
    out["schema_version"] = 2
    return out


def _known(model: type[BaseModel], value: Any) -> Any:
    """``value`` with the keys ``model`` does not declare left out, recursively through the
    fields typed as models (lists of them, dicts of them, optional ones)."""
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        field = model.model_fields.get(key)
        if field is not None:
            out[key] = _known_as(field.annotation, item)
    return out


def _known_as(annotation: Any, value: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _known(annotation, value)
    args = get_args(annotation)
    if get_origin(annotation) is list and isinstance(value, list) and args:
        return [_known_as(args[0], v) for v in value]
    if get_origin(annotation) is dict and isinstance(value, dict) and len(args) == 2:
        return {k: _known_as(args[1], v) for k, v in value.items()}
    models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    return _known(models[0], value) if len(models) == 1 and isinstance(value, dict) else value


def _v2_to_v3(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 2 still kept single traits, segments, provenance, partitions, the held-out
    verdict, the scoring target, the scorecard's info, messaging per tier and persona and the
    signals' intake, backtest and per-value rows as free-form dicts; version 3 types them. Keys no
    typed field holds are left out (they were never read), an empty verdict becomes an absent
    one, a single trait's ``share_rest`` is its ``share_not_best``, the scorecard's
    ``info.n_train`` its ``info.n_rows``, and a signals backtest
    without ``available`` ran (it only said so when it could not)."""
    out = dict(raw)
    traits = []
    for row in out.get("single_traits") or []:
        if isinstance(row, dict) and "share_rest" in row and "share_not_best" not in row:
            row = {**row, "share_not_best": row["share_rest"]}
        traits.append(row)
    out["single_traits"] = traits
    card = out.get("scorecard")
    if isinstance(card, dict) and isinstance(card.get("info"), dict):
        info = dict(card["info"])
        if "n_train" in info and "n_rows" not in info:
            info["n_rows"] = info.pop("n_train")
        out["scorecard"] = {**card, "info": info}
    validation = out.get("validation")
    if isinstance(validation, dict) and not validation.get("verdict"):
        out["validation"] = {**validation, "verdict": None}
    signals = out.get("signals")
    if isinstance(signals, dict) and isinstance(signals.get("backtest"), dict):
        backtest = signals["backtest"]
        if backtest == {}:
            out["signals"] = {**signals, "backtest": None}
        elif "available" not in backtest:
            out["signals"] = {**signals, "backtest": {"available": True, **backtest}}
    for key in ("single_traits", "segments", "provenance", "partitions", "validation",
                "success_definition", "scorecard", "tiers", "messaging", "signals",
                "personas"):  # fmt: skip
        if key in out:
            out[key] = _known_as(IcpProfile.model_fields[key].annotation, out[key])
    out["schema_version"] = 3
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` (a parsed profile JSON) lifted to :data:`SCHEMA_VERSION`; no field means version 1.

    Raises
    ------
    ConfigError
        For a version newer than this icpkit reads, or not a whole number.
    """
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"profile schema_version {version!r} is not a positive whole number")
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"profile schema_version {version} is newer than this icpkit reads "
            f"(up to {SCHEMA_VERSION}): upgrade icpkit"
        )
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version = raw["schema_version"]
    return raw


# ---------------------------------------------------------------------------------------------
# Buyer personas and the buying committee (computed by icpkit.personas; issue 13)


class PersonaEvidence(BaseModel):
    """One buyer persona (function × seniority band, or a function at any level) on closed deals.

    ``win_rate_with`` / ``win_rate_without`` are the plain win rates of closed deals with and
    without the persona on them; ``lift`` is the Mantel–Haenszel odds ratio of winning with it,
    compared within the same fit tier and committee size (so a persona that merely marks big
    accounts or big committees is not credited), with its 95% interval ``lift_ci``; ``q_value``
    is Benjamini–Hochberg-adjusted across every persona tested.
    """

    model_config = ConfigDict(frozen=True)

    persona: str
    function: str
    seniority: str = Field(description="director+ | manager | individual contributor | any")
    deals_with: int
    won_with: int
    win_rate_with: float
    win_rate_without: float
    win_rate_with_ci: tuple[float, float]
    lift: float | None
    lift_ci: tuple[float | None, float | None]
    p_value: float = 1.0
    q_value: float = 1.0
    significant: bool = False
    evidence: Evidence = "insufficient"


class CommitteeSizeRate(BaseModel):
    """Win rate of closed deals whose buying committee has this many contacts."""

    model_config = ConfigDict(frozen=True)

    size: str
    deals: int
    won: int
    win_rate: float
    ci: tuple[float, float]


class RoleShare(BaseModel):
    """How often a role or persona is present on won and on lost deals."""

    model_config = ConfigDict(frozen=True)

    name: str
    share_won: float
    share_lost: float
    deals_won: int
    deals_lost: int


class BuyingCommittee(BaseModel):
    """The size and make-up of buying committees on won versus lost deals."""

    model_config = ConfigDict(frozen=True)

    median_contacts_won: float | None = None
    median_contacts_lost: float | None = None
    median_functions_won: float | None = None
    median_functions_lost: float | None = None
    by_size: list[CommitteeSizeRate] = Field(default_factory=list)
    roles: list[RoleShare] = Field(
        default_factory=list, description="role_in_deal values present on won vs lost deals."
    )
    economic_buyer: list[RoleShare] = Field(
        default_factory=list,
        description="Personas of the economic buyer (role_in_deal), most frequent first.",
    )
    first_contact: list[RoleShare] = Field(
        default_factory=list,
        description="Personas of the first contact by date, when contacts carry a created_at.",
    )


class TitleCoverage(_Section):
    """Share of the contacts used whose title gave a function, and a seniority."""

    function_known: float = 0.0
    seniority_known: float = 0.0


class PersonasSection(BaseModel):
    """Who to talk to inside an account: personas with their evidence and the buying committee."""

    model_config = ConfigDict(frozen=True)

    link: Literal["deal", "account"] = Field(
        description="deal: contacts linked by deal_id; account: no deal_id, so every closed deal "
        "of an account counts the account's contacts."
    )
    n_contacts: int
    n_contacts_used: int
    n_deals: int
    n_won: int
    stratified_by: list[str] = Field(default_factory=list)
    title_coverage: TitleCoverage = Field(default_factory=TitleCoverage)
    personas: list[PersonaEvidence] = Field(default_factory=list)
    committee: BuyingCommittee = Field(default_factory=BuyingCommittee)
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    shown: int = Field(3, description="Personas the one-pager and score output show.")

    def top(self, n: int = 3) -> list[PersonaEvidence]:
        """The significant personas that raise the win odds, strongest first."""
        helpful = [p for p in self.personas if p.significant and (p.lift or 0) > 1]
        return sorted(helpful, key=lambda p: -(p.lift or 0))[:n]


# ---------------------------------------------------------------------------------------------
# Feedback from the field (computed by icpkit.lifecycle.feedback; issue 17)


class FeedbackTier(BaseModel):
    """Reps' verdicts on accounts shown in one tier.

    ``n_reviewed`` accounts of this shown tier got a verdict (the latest per reviewer and
    account); ``n_agreed`` were confirmed (claimed tier = shown tier), ``n_disputed`` claimed
    another tier: ``claimed_higher`` a better one, ``claimed_lower`` a worse one.
    ``agreement_rate`` = n_agreed / n_reviewed.
    """

    model_config = ConfigDict(frozen=True)

    tier: str
    n_reviewed: int
    n_agreed: int
    n_disputed: int
    claimed_higher: int = 0
    claimed_lower: int = 0
    agreement_rate: float | None = None


class DisputedCriterion(BaseModel):
    """A criterion met by reviewed accounts: how many of them were disputed."""

    model_config = ConfigDict(frozen=True)

    rule: str
    n_disputed: int
    n_reviewed: int
    dispute_share: float


class FeedbackOutcomes(BaseModel):
    """Disputed accounts whose deal closed after the verdict: who the outcome proved right.

    A rep who claimed a better tier is proved right by a won deal and wrong by a lost one; a rep
    who claimed a worse tier the other way round. ``pending``: no deal closed since.
    """

    model_config = ConfigDict(frozen=True)

    n_disputed: int
    rep_right: int = 0
    icp_right: int = 0
    pending: int = 0
    dated: bool = Field(True, description="False when deals carry no closed_at to compare.")


class FeedbackSection(BaseModel):
    """Reps' feedback on the tiers they were shown: agreement per tier, disputed criteria,
    outcomes since. Reasons are free text with e-mails, phones, links and contact names removed."""

    model_config = ConfigDict(frozen=True)

    n_entries: int
    n_reviewed: int = Field(description="Verdicts counted: the latest per reviewer and account.")
    n_accounts: int
    n_reviewers: int
    versions: list[int] = Field(default_factory=list, description="Versions the reps saw.")
    first: str | None = None
    last: str | None = None
    tiers: list[FeedbackTier] = Field(default_factory=list)
    criteria: list[DisputedCriterion] = Field(default_factory=list)
    outcomes: FeedbackOutcomes | None = None
    examples: list[str] = Field(default_factory=list, description="Recent disputes, scrubbed.")
    warnings: list[str] = Field(default_factory=list)

    @property
    def agreement_rate(self) -> float | None:
        """Share of all counted verdicts that confirmed the tier shown."""
        agreed = sum(t.n_agreed for t in self.tiers)
        return agreed / self.n_reviewed if self.n_reviewed else None


IcpProfile.model_rebuild()  # resolves the PersonasSection reference defined after it


# --- enrichment and market size (icpkit.enrich; rendered by report/enrich_view.py) -------------


class SourceFill(_Section):
    """One universe of the enrichment waterfall: how many accounts it matched and what it filled."""

    universe: str = Field(description="The universe's name (FinanceDatabase, or the file's stem).")
    path: str = Field(description="The universe file.")
    records: int
    matched: int = Field(description="CRM accounts linked to one of its records.")
    match_rate: float
    filled: dict[str, int] = Field(description="Field → values this universe filled.")
    fill_rate: dict[str, float] = Field(description="Field → share of accounts it filled.")


class ValueConflict(_Section):
    """Two sources disagreeing on one account's value: which was kept, which set aside."""

    account_id: str
    field: str
    kept: str
    kept_from: str = Field(description="'CRM' or the universe whose value was kept.")
    other: str
    other_from: str


class DuplicatePair(_Section):
    """Two CRM accounts the linkage model finds to be one company."""

    account_id: str = Field(description="The id kept when `build` folds duplicates.")
    duplicate_id: str
    probability: float
    evidence: str = Field(description="The comparisons behind it ('same domain; same name; …').")


class EnrichmentSummary(_Section):
    """One `icpkit enrich` run: the waterfall's sources, fill rates before and after, conflicts,
    industries no workspace value could take, and duplicate accounts."""

    at: str = Field(description="When the run was (UTC, ISO 8601).")
    threshold: float
    overwrite: bool
    accounts: int
    sources: list[SourceFill]
    fill_before: dict[str, float] = Field(
        description="Field → share of accounts with a value before."
    )
    fill_after: dict[str, float] = Field(description="Field → share with a value after.")
    conflicts: list[ValueConflict] = Field(description="The first 500 conflicts.")
    n_conflicts: int
    unmapped_industries: dict[str, int] = Field(
        description="Universe industry label → matched accounts it could not fill (no workspace value)."
    )
    duplicates: list[DuplicatePair]


class MarketEstimate(_Section):
    """An expected count or amount with its 80% interval (10th–90th percentile of the draws)."""

    mean: float
    low: float
    high: float


class MarketRow(_Section):
    """One segment of the market (a tier, a country, an industry, or all)."""

    by: str = Field(description="'tier', 'country', 'industry' or 'all'.")
    value: str
    companies: int
    customers: int = Field(
        description="Universe companies already customers (matched to a won account)."
    )
    penetration: float = Field(description="customers / companies.")
    win_rate: MarketEstimate = Field(
        description="The segment's win rate from the CRM (Beta posterior)."
    )
    expected_wins: MarketEstimate
    acv: MarketEstimate | None = Field(
        description="Average contract value from the CRM's won deals."
    )
    revenue_potential: MarketEstimate | None = Field(description="Expected wins × ACV.")


class MarketSize(_Section):
    """The size of the market in a company universe, scored by a version's ICP."""

    universe: str
    version: int
    companies: int
    currency: str
    draws: int
    method: str = Field(description="How the intervals were drawn, in one sentence.")
    rows: list[MarketRow]
    warnings: list[str] = Field(default_factory=list)
