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
    themes: ThemesSection | None = None
    messaging: MessagingSection | None = None

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
