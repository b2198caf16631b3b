"""IcpProfile: the ICP as typed data, serialised to JSON only (a versioned schema, readable and diffable).

The profile is what every edge shows and what the report renders: statement, core criteria,
disqualifiers (each a rule in text form with its evidence), the points scorecard, tier cut-offs,
validation results and provenance. The sections other modules compute are typed here as frozen
pydantic models (:class:`ScorecardSection`, :class:`TiersSection`, :class:`ValidationSection`,
:class:`DataQualitySection`, :class:`SuccessDefinition`), so a field renamed by its producer is a
validation error on load and a type error (mypy) in every reader, never a silent dash in a report.
The producers still hand over plain dicts (``Scorecard.to_dict()``, ``ValidationResult.to_dict()``
…); pydantic checks them against these models when the profile is built. This module imports only
``errors``: every layer may read a profile.

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
from typing import Any, ClassVar, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from icpkit.errors import ConfigError

SCHEMA_VERSION = 2
SCORECARD_FORMAT: Final = "icpkit.scorecard/1"

Evidence = Literal["strong", "moderate", "weak", "insufficient"]


class _Section(BaseModel):
    """A typed, frozen part of the profile. Fields named in ``_omit_if_none`` are left out of the
    JSON when None (they only exist for some kinds of producer), so JSON round-trips unchanged."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _omit_if_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_absent(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        for key in self._omit_if_none:
            if key in out and out[key] is None:
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


class ScorecardSection(_Section):
    """The points table: ``base`` plus one feature's points per bin gives the 0–100 fit score;
    ``probability`` maps each score to a calibrated probability (empty when never calibrated)."""

    format: Literal["icpkit.scorecard/1"] = SCORECARD_FORMAT
    target: str = "best"
    base: int
    calibration: str = "none"
    probability: list[float] = Field(default_factory=list)
    features: list[ScorecardFeature] = Field(default_factory=list)
    info: dict[str, Any] = Field(default_factory=dict)


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
    targets: dict[str, float | str] | None = None
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
# Validation (written by icpkit.evaluation.validation: ``ValidationResult.to_dict()``)


class KpiEstimate(_Section):
    """A KPI for one group (a tier, 'ICP', 'Non-ICP' or 'All') with its n and 95% interval."""

    group: str
    kpi: str
    value: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None


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


class ValidationSection(_Section):
    """The out-of-time backtest stored with the profile (see ``ValidationResult`` for the maths)."""

    cut_date: str | None = None
    n_accounts: int = 0
    n_deals: int = 0
    n_closed: int = 0
    kpis: list[KpiEstimate] = Field(default_factory=list)
    auc: KpiEstimate | None = None
    top_decile_lift: float | None = None
    gains: list[GainsRow] = Field(default_factory=list)
    brier: float | None = None
    reliability: list[ReliabilityRow] = Field(default_factory=list)
    madkudu: BacktestBar = Field(default_factory=BacktestBar)
    coverage: CoverageCheck = Field(default_factory=CoverageCheck)
    criteria: list[CriterionCheck] = Field(default_factory=list)
    evidence: str = "weak"
    caveats: list[str] = Field(default_factory=list)
    accounts_with_closed: dict[str, int] = Field(default_factory=dict)
    # 'out-of-time', or 'cross-validated' when dates cannot support a cut
    method: str = "out-of-time"
    outcome: str = "won vs lost deals"
    # The held-out verdict shown on page 1: status pass | fail | missing, reasons, lines, rates
    verdict: dict[str, Any] = Field(default_factory=dict)

    def kpi(self, group: str, name: str) -> KpiEstimate | None:
        """The estimate of one KPI for one group, or None."""
        return next((k for k in self.kpis if k.group == group and k.kpi == name), None)


# ---------------------------------------------------------------------------------------------
# Success definition (icpkit.outcomes) and data quality (icpkit.pipeline)


class SuccessMetricWeight(_Section):
    """One ingredient of the success score as it was used."""

    name: str
    weight: float = 1.0
    direction: Literal["higher", "lower"] = "higher"


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
    # What the scorecard predicts and why: target ('won' | 'best'), chosen ('config' | 'auto'),
    # why, name (for rates) and probability_of (what fit_probability is the probability of)
    scoring_target: dict[str, str] | None = None


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


class ThemeEntry(BaseModel):
    """A pain theme (or lost reason) found in the notes, with its headline evidence.

    The headline is best vs rest for the customers' voice and lost vs won for lost reasons;
    ``tests`` holds every comparison and source family. Quotes have PII removed.
    """

    model_config = ConfigDict(frozen=True)

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


class ThemesSection(BaseModel):
    """Pain themes from the notes table (icpkit.themes)."""

    model_config = ConfigDict(frozen=True)

    embedding: str
    n_notes: int
    n_unassigned: int
    warnings: list[str] = Field(default_factory=list)
    themes: list[ThemeEntry] = Field(default_factory=list)


class MessagingSection(BaseModel):
    """Talking points and the completed ICP statement, assembled from the evidence (no LLM)."""

    model_config = ConfigDict(frozen=True)

    statement: str
    parts: dict[str, str] = Field(default_factory=dict)
    tiers: list[dict[str, Any]] = Field(default_factory=list)
    personas: list[dict[str, Any]] = Field(default_factory=list)
    disqualifier_evidence: list[str] = Field(default_factory=list)


class SignalTypeEvidence(BaseModel):
    """What one buying-signal type is worth, learned from the CRM's history (icpkit.signals).

    ``lift`` and ``lift_ci`` hold two ratios within fit tiers: ``opening`` (deals opened per
    account-day in the ``window_days`` after the signal vs accounts without it) and ``winning``
    (win rate of deals opened in that window vs deals without the signal). ``decay`` is
    'exponential' (``half_life_days`` with ``half_life_ci``), 'window' (flat for ``window_days``,
    interval ``window_ci``) or 'none' for a type without a significant effect, which weighs
    nothing in the intent score. ``peak_*`` are the fitted effects on the day of the signal.
    """

    model_config = ConfigDict(frozen=True)

    type: str
    window_days: int
    decay: Literal["exponential", "window", "none"] = "none"
    half_life_days: float | None = None
    half_life_ci: tuple[float, float] | None = None
    window_ci: tuple[float, float] | None = None
    lift: dict[str, float | None] = Field(default_factory=dict)
    lift_ci: dict[str, tuple[float, float] | None] = Field(default_factory=dict)
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
    by_value: list[dict[str, Any]] = Field(default_factory=list)


class SignalsSection(BaseModel):
    """Buying signals: per-type evidence, the backtest of fit + intent, or why it is unavailable."""

    model_config = ConfigDict(frozen=True)

    available: bool
    reason: str = ""
    as_of: str | None = None
    lookback_days: int = 365
    strata: list[str] = Field(default_factory=list, description="Fit tiers compared within.")
    intake: dict[str, Any] = Field(default_factory=dict)
    types: list[SignalTypeEvidence] = Field(default_factory=list)
    backtest: dict[str, Any] | None = None

    def triggers(self) -> list[SignalTypeEvidence]:
        """The significant types that raise openings or wins, strongest first."""
        return [
            t for t in self.types
            if t.significant and (t.peak_opening_ratio > 1 or t.peak_win_odds_ratio > 1)
        ]  # fmt: skip


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
    single_traits: list[dict[str, Any]] = Field(default_factory=list)
    segments: list[dict[str, Any]] = Field(
        default_factory=list, description="Every reported segment with its full evidence."
    )
    scorecard: ScorecardSection | None = None
    tiers: TiersSection | None = None
    validation: ValidationSection | None = None
    data_quality: DataQualitySection | None = None
    caveats: list[str] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)
    excluded_attributes: list[dict[str, str]] = Field(
        default_factory=list,
        description="Columns left out of the ICP with the reason ({column, reason}): personal "
        "data, dates, and what the leakage/identifier guard flagged.",
    )
    column_fates: list[ColumnFate] | None = Field(
        None,
        description="Every accounts column and what became of it (used, grouped, or left out "
        "and why), in table order.",
    )
    partitions: dict[str, Any] | None = Field(
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
    feedback: FeedbackSection | None = Field(
        None,
        description="What reps said about the tiers they were shown (icpkit.lifecycle.feedback); "
        "absent when nobody gave feedback.",
    )

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


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


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
    title_coverage: dict[str, float] = Field(default_factory=dict)
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
