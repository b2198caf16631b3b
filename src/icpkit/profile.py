"""IcpProfile: the ICP as plain data, serialised to JSON only (a versioned schema, readable and diffable).

The profile is what every edge shows and what the report renders: statement, core criteria,
disqualifiers (each a rule in text form with its evidence), the points scorecard, tier cut-offs,
validation results and provenance. Parts owned by other modules (scorecard, tiers, validation,
single-trait profile) are stored as those modules' ``to_dict()`` output and read back by them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from icpkit.errors import ConfigError

SCHEMA_VERSION = 1

Evidence = Literal["strong", "moderate", "weak", "insufficient"]


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


class IcpProfile(BaseModel):
    """The whole ICP. ``to_json``/``from_json`` round-trip exactly."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    name: str = "icp"
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    origin: Literal["learned", "hand-written"] = "learned"
    statement: str = ""
    criteria: list[RuleEvidence] = Field(default_factory=list)
    disqualifiers: list[RuleEvidence] = Field(default_factory=list)
    success_definition: dict[str, Any] = Field(
        default_factory=dict, description="Metrics, weights and group sizes behind best/worst."
    )
    counts: dict[str, int] = Field(
        default_factory=dict,
        description="n_accounts, n_best, n_worst, n_deals… the evidence rests on.",
    )
    single_traits: list[dict[str, Any]] = Field(default_factory=list)
    segments: list[dict[str, Any]] = Field(
        default_factory=list, description="Every reported segment with its full evidence."
    )
    scorecard: dict[str, Any] | None = None
    tiers: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    data_quality: dict[str, Any] | None = None
    caveats: list[str] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)
    personas: PersonasSection | None = Field(
        None, description="Buyer personas and the buying committee (when contacts were given)."
    )

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> IcpProfile:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"profile JSON is not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError("profile JSON must be an object")
        version = raw.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ConfigError(
                f"profile schema_version {version} is not supported (expected {SCHEMA_VERSION})"
            )
        try:
            return cls.model_validate(raw)
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


IcpProfile.model_rebuild()  # resolves the PersonasSection reference defined after it
