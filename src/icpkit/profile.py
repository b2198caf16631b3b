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
    signals: SignalsSection | None = None

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
