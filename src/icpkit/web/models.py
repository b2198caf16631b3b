"""The request and response types of the JSON API: every /v1 success has one, so /openapi.json
carries a schema for every response.

Where the core already has the type (the profile and its sections, the diff's changes, the drift
result's parts, a stored version's line, a feedback summary) the response embeds it; the types
defined here are only the API's own envelopes and the profile parts that are still plain dicts
in ``profile.py`` (messaging per tier/persona), read field by field, never through the report's
display tables.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from icpkit.config import DriftConfig
from icpkit.lifecycle.diff import Change
from icpkit.lifecycle.drift import Reason, TierDecay, Verdict, WinPatternShift
from icpkit.lifecycle.feedback import MAX_REASON, FeedbackEntry
from icpkit.lifecycle.stability import AttributeDrift
from icpkit.lifecycle.store import VersionInfo
from icpkit.profile import FeedbackSection, IcpProfile, PersonaEvidence, SignalTypeEvidence
from icpkit.themes.pii import MAX_QUOTE
from icpkit.vocab import TIERS, TierName

Tier = TierName
assert tuple(Tier.__args__) == TIERS  # type: ignore[attr-defined]
INT64 = 2**63 - 1

# ----------------------------------------------------------------------------- errors


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The one shape of every error response."""

    error: ErrorDetail


# ----------------------------------------------------------------------------- meta


class Health(BaseModel):
    status: Literal["ok"]
    version: str


# ----------------------------------------------------------------------------- scoring

Cell = str | int | float | bool | list[str] | None


def _finite(value: Cell) -> Cell:
    """A JSON number the CLI would read as missing is missing here too: ``1e400`` and ``Infinity``
    (Python reads both as inf), NaN, and integers no table column can hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64:
        return None
    return value


class ScoreRequest(BaseModel):
    """Accounts to score, as records in icpkit's canonical column names."""

    accounts: list[dict[str, Cell]] = Field(
        min_length=1,
        description="One record per account: account_id, industry, employees, tech_stack (list), "
        "…; non-finite numbers (1e400, Infinity) and integers beyond 64 bits are read as "
        "missing, as `icpkit score` reads them.",
    )

    @field_validator("accounts")
    @classmethod
    def _missing_not_huge(cls, records: list[dict[str, Cell]]) -> list[dict[str, Cell]]:
        return [{k: _finite(v) for k, v in record.items()} for record in records]


class ScoredAccount(BaseModel):
    """One scored account: the fields echoed from the request and icpkit's score columns."""

    model_config = ConfigDict(extra="allow")

    account_id: Cell = None
    name: Cell = None
    domain: Cell = None
    fit_score: int | None = None
    fit_probability: float | None = None
    tier: Tier | None = None
    reasons: str | None = None
    criteria_met: list[str] = Field(default_factory=list)
    disqualifiers_hit: list[str] = Field(default_factory=list)
    calibrated_score: int | None = Field(
        None, description="0–100 on the familiar band scale ([bands]; monotone in fit_score)."
    )
    fit_band: str | None = Field(
        None, description="The band of calibrated_score (default: very good/good/medium/low)."
    )


class ScoreResponse(BaseModel):
    version: int
    mapped: bool = Field(description="The records were read in the export's own headers.")
    missing_columns: list[str] = Field(
        default_factory=list, description="Attributes the profile scores that no record had."
    )
    ignored_fields: list[str] = Field(
        default_factory=list,
        description="Fields icpkit does not read, ignored (without map). A field close to a "
        "known name (`industy`) is a 422 naming the closest name instead.",
    )
    accounts: list[ScoredAccount]


# ----------------------------------------------------------------------------- accounts


class AccountHit(BaseModel):
    account_id: str
    name: str | None = None
    domain: str | None = None
    tier: Tier
    fit_score: int
    match: Literal["all", "contains", "similar"] = Field(
        description="all: no query; contains: the query is part of the name, domain or id; "
        "similar: a close spelling of the name (typo tolerance)."
    )


class AccountList(BaseModel):
    """One page of accounts: ``total`` matched, ``limit`` from ``offset`` shown."""

    query: str = Field(description="The query as searched (a URL or e-mail reduced to its domain).")
    total: int
    limit: int
    offset: int
    accounts: list[AccountHit]


class PointWords(BaseModel):
    feature: str
    value: str
    points: int
    text: str


class PersonaToReach(BaseModel):
    persona: str
    evidence: PersonaEvidence
    has_contact: bool | None = Field(
        description="The account has a contact of this persona (null: no contacts table)."
    )


class PainPoint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: str
    quote: str | None = None
    lift: float | None = None
    share_in_group: float | None = None


class ObjectionPoint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: str
    quote: str | None = None
    lift: float | None = None


class TalkingPoints(BaseModel):
    """What to say to one audience (this account's tier or a winning persona)."""

    model_config = ConfigDict(extra="ignore")

    audience: str
    kind: Literal["tier", "persona"]
    n_accounts: int = 0
    pains: list[PainPoint] = Field(default_factory=list)
    achievements: list[str] = Field(default_factory=list)
    proof: list[str] = Field(default_factory=list)
    objections: list[ObjectionPoint] = Field(default_factory=list)


class Trigger(BaseModel):
    type: str
    text: str
    evidence: SignalTypeEvidence


class WhyNow(BaseModel):
    intent: Literal["hot", "warm", "cold"] | None = None
    intent_score: float | None = None
    text: str = ""
    note: str = ""
    triggers: list[Trigger] = Field(default_factory=list)


class ContactsOfPersona(BaseModel):
    """The account's contacts of one persona: how many and their commonest titles (no names)."""

    persona: str
    count: int
    titles: list[str]


class EnrichedValue(BaseModel):
    """A value `icpkit enrich` filled, and where it came from."""

    field: str
    value: str
    universe: str = Field(description="The universe the value came from.")
    record_id: str = Field(description="The universe record matched to the account.")
    probability: float = Field(description="The linkage model's match probability.")
    at: str = Field(description="When the enrichment ran (UTC, ISO 8601).")
    label: str = Field(description="'industry: from FinanceDatabase (record X), match 0.97, date'.")


class AccountDetail(BaseModel):
    account_id: str
    name: str | None = None
    domain: str | None = None
    version: int
    tier: Tier
    fit_score: int
    calibrated_score: int | None = Field(
        None, description="0–100 on the familiar band scale ([bands]; monotone in fit_score)."
    )
    fit_band: str | None = Field(None, description="The band of calibrated_score.")
    fit_probability: float | None = None
    reasons: list[str]
    reasons_for: list[str]
    reasons_against: list[str]
    points: list[PointWords]
    base_points: int
    criteria_met: list[str]
    criteria_missed: list[str]
    disqualifiers_hit: list[str]
    personas: list[PersonaToReach]
    talking_points: list[TalkingPoints]
    why_now: WhyNow
    reasons_words: list[str] = Field(
        default_factory=list,
        description="The reasons for fit in a rep's words, without points; a missing value "
        "is never one.",
    )
    reasons_against_words: list[str] = Field(
        default_factory=list, description="The reasons against fit in a rep's words."
    )
    contacts: list[ContactsOfPersona] | None = Field(
        None,
        description="The CRM's contacts of this account by persona: counts and titles, never "
        "names (null: no contacts table).",
    )
    enriched: list[EnrichedValue] = Field(
        default_factory=list, description="Values filled by `icpkit enrich`, with provenance."
    )


class Lookalike(BaseModel):
    model_config = ConfigDict(extra="allow")

    rank: int | None = None
    account_id: str | None = None
    name: str | None = None
    domain: str | None = None
    tier: Tier | None = None
    fit_score: int | None = None
    similarity: float | None = None


class LookalikesResponse(BaseModel):
    """The companies of the configured universe most like the ICP, customers excluded."""

    version: int
    n: int
    targets: list[Lookalike]


# ----------------------------------------------------------------------------- profile, versions


class ProfileResponse(BaseModel):
    version: int
    profile: IcpProfile


class VersionList(BaseModel):
    versions: list[VersionInfo]


class MigrationCell(BaseModel):
    tier_a: str
    tier_b: str
    n: int


class DiffResponse(BaseModel):
    label_a: str
    label_b: str
    changes: list[Change]
    migration: list[MigrationCell]
    n_common_accounts: int | None = None
    text: str


class DriftResponse(BaseModel):
    verdict: Verdict
    reasons: list[Reason]
    population: list[AttributeDrift]
    win_patterns: list[WinPatternShift]
    decay: TierDecay | None
    age_days: int | None
    created_at: str
    settings: DriftConfig
    text: str


# ----------------------------------------------------------------------------- feedback, builds


class FeedbackRequest(BaseModel):
    """A rep's verdict on the tier the latest version shows for an account."""

    account_id: str = Field(min_length=1, max_length=200)
    claimed_tier: Tier = Field(description="The tier the rep thinks is right (= shown: agreed).")
    reason: str = Field("", max_length=MAX_REASON, description="Why; stored without e-mails, "
                        f"phones, links or contact names, cut to {MAX_QUOTE} characters.")  # fmt: skip


class FeedbackList(BaseModel):
    """The latest verdicts, newest first, and the summary the next build reports."""

    n: int
    entries: list[FeedbackEntry]
    summary: FeedbackSection | None
    agreement_rate: float | None
    warnings: list[str] = Field(default_factory=list)


class BuildStatus(BaseModel):
    """A build started from the web: its stage, the share done, and the version it saved."""

    id: str
    status: Literal["running", "done", "failed"]
    stage: str
    progress: float = Field(ge=0, le=1)
    started_at: str
    by_key: str
    finished_at: str | None = None
    version: int | None = None
    error: str | None = None


class UploadResult(BaseModel):
    n: int
    version: int
    download: str = Field(description="Where to GET the scored CSV (also the Location header).")
