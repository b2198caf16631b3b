"""The workspace config (``icpkit.toml``): every setting declared once, typed, with default and help.

The reference in docs/config.md is generated from these models (``make docs``; a test checks that
they agree). ``icpkit init`` writes only what it guessed from the files (sources and column
mappings); every other setting takes its default from here. Each section is a pydantic model;
``WorkspaceConfig`` is the whole file.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import json
import re
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from icpkit.errors import ConfigError

CONFIG_NAME = "icpkit.toml"
# Web-form and CRM placeholders for "no answer" (see WorkspaceConfig.na_values).
DEFAULT_NA_VALUES = (
    "select",
    "--select--",
    "- select -",
    "please select",
    "unknown",
    "n/a",
    "na",
    "-",
    "none",
    "not provided",
    "not specified",
    "null",
)


class _Section(BaseModel):
    # inf and nan are never settings (shrinkage_prior = inf crashed the build)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SourceConfig(_Section):
    """Where one canonical table comes from and how its columns map onto the canonical ones."""

    path: str = Field(
        description="File with the table, relative to the workspace: .csv, .tsv, .txt, .xlsx, "
        ".parquet, .sqlite/.db (SQLite) or .duckdb."
    )
    table: str | None = Field(None, description="For SQL files: the table to read.")
    query: str | None = Field(
        None, description="For SQL files: a SELECT to run instead of a table."
    )
    sheet: str | None = Field(
        None, description="For Excel files: the sheet name (default: the first)."
    )
    delimiter: str | None = Field(None, description="CSV delimiter (default: sniffed).")
    encoding: str | None = Field(
        None, description="CSV encoding (default: sniffed: UTF-8, UTF-8 BOM, Latin-1)."
    )
    date_format: str | None = Field(
        None,
        description="strftime format for ambiguous dates, e.g. '%d/%m/%Y' (default: inferred).",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical column name → column name in the file. Unmapped file columns are kept "
        "as extra attributes.",
    )
    stage_values: dict[str, str] = Field(
        default_factory=dict,
        description="Deals only: raw stage value → won | lost | open, for stages icpkit cannot guess.",
    )
    tag_columns: list[str] = Field(
        default_factory=list,
        description="Extra multi-valued columns (split on , ; | into lists), besides tech_stack.",
    )
    drop_columns: list[str] = Field(
        default_factory=list,
        description="File columns never to use as attributes (ids, free text, PII).",
    )
    collapse_to_accounts: bool = Field(
        False,
        description="Accounts only: the file has several rows per account (order lines, contacts "
        "with company fields); keep one row per account with the most frequent value of each "
        "text column and the median of each number.",
    )
    na_values: dict[str, list[str]] = Field(
        default_factory=dict,
        description="File column → more cell values that mean 'no answer' in that column only "
        '(e.g. {annual_revenue = ["0.0"]}), besides the global na_values.',
    )
    outcome_column: str | None = Field(
        None,
        description="Accounts only: a column holding each row's outcome (0/1, true/false, "
        "yes/no, won/lost, converted, a status with won/lost values) for a single-table lead or "
        "account export; it becomes one won/lost deal per row and is never an attribute.",
    )
    outcome_missing_is_lost: bool = Field(
        False,
        description="Accounts only: rows without a closed outcome (blank or open in "
        "outcome_column; or, with a deals source, accounts without a closed deal — a lead list "
        "joined to the deals of those that won) count as lost instead of having no outcome; the "
        "count is reported.",
    )
    outcome_date_column: str | None = Field(
        None,
        description="Accounts only, with outcome_column: the date of each row's outcome (e.g. "
        "the lead's creation date), so the backtest can split by time. With a deals source the "
        "deals' own dates are used and this setting is reported as unused.",
    )
    id_is_row_number: bool = Field(
        False,
        description="Accounts only: the file has no id column, so each row's number in the file "
        "(1, 2, …) is its account_id (`icpkit init --outcome` writes this for a lead list "
        "without ids).",
    )
    stage_default: Literal["won", "lost", "open"] | None = Field(
        None,
        description="Deals only: the stage of every row when the file has no stage column "
        "(e.g. 'won' for order lines or invoices).",
    )

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError(f"must be one character such as ',' ';' '\\t' or '|', not {value!r}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, latin-1)") from None
        return value


class SuccessMetric(_Section):
    """One ingredient of the composite success score."""

    name: str = Field(
        description="An outcome metric, e.g. won_revenue, win_rate, ltv (see `icpkit customers`)."
    )
    weight: float = Field(1.0, gt=0, description="Relative weight in the composite score.")
    direction: Literal["higher", "lower"] = Field(
        "higher", description="Whether higher values are better (sales_cycle_days: lower)."
    )


class SuccessConfig(_Section):
    """How a 'best' and a 'worst' customer are defined."""

    metrics: list[SuccessMetric] = Field(
        default_factory=list,
        description="Metrics of the composite success score. Empty: chosen from the tables present.",
    )
    best_share: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="Share of ranked customers labelled 'best' (top of the ranking).",
    )
    worst_share: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="Share of ranked customers labelled 'worst' (bottom of the ranking).",
    )
    churned_is_worst: bool = Field(True, description="Churned customers are always 'worst'.")
    lost_only_is_worst: bool = Field(
        True,
        description="Accounts with only lost deals (at least lost_only_min_deals) are always 'worst'.",
    )
    lost_only_min_deals: int = Field(
        1,
        ge=1,
        description="Lost deals (and no win) that make an account 'worst' outright. Raise it when "
        "single lost deals are noise in your CRM; such accounts are then ranked like the rest.",
    )
    shrinkage_prior: float = Field(
        5.0,
        ge=0,
        description="Pseudo-deals of the global win rate added to each account's win rate.",
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> SuccessConfig:
        if self.best_share + self.worst_share > 1:
            raise ValueError(
                f"best_share + worst_share is {self.best_share + self.worst_share:g}; they "
                "must sum to at most 1"
            )
        return self


class DiscoveryConfig(_Section):
    """The segment search behind the ICP criteria and disqualifiers."""

    max_depth: int = Field(3, ge=1, le=3, description="Most conditions in one segment.")
    min_support: float = Field(
        0.01, gt=0, lt=1, description="Smallest share of accounts a segment may cover."
    )
    min_support_count: int = Field(
        10, ge=1, description="Smallest number of accounts a segment may cover."
    )
    top_k: int = Field(
        20,
        ge=1,
        description="Segment families reported (distinct groups of accounts; the variants of "
        "each are listed under it).",
    )
    quality: Literal["wracc", "binomial", "mean_shift"] = Field(
        "binomial",
        description="Quality function of the search: binomial (large and pure segments), wracc, "
        "or mean_shift (segments with a higher mean of the outcome metric named by value).",
    )
    value: str = Field(
        "won_revenue",
        description="Outcome metric averaged by quality = mean_shift (an outcomes column such as "
        "won_revenue, acv or ltv; an account without it counts as 0).",
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="Significance level after multiple-testing control."
    )
    numeric_bins: int = Field(
        5, ge=2, le=20, description="Bins per numeric attribute (rounded cut points)."
    )
    max_categories: int = Field(
        30, ge=2, description="Most levels of a categorical attribute; rarer ones pooled."
    )
    max_criteria: int = Field(3, ge=1, le=5, description="Most core ICP criteria (segments).")
    precision_floor: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Least precision a core criterion needs, as a multiple of the base rate "
        "(0 = at least 1.5× the base rate).",
    )
    attributes: list[str] = Field(
        default_factory=list, description="Attributes to use (empty: all)."
    )
    exclude: list[str] = Field(default_factory=list, description="Attributes never to use.")
    allow: list[str] = Field(
        default_factory=list,
        description="Columns to use although icpkit leaves them out by default: personal data "
        "(e-mails, phones, person names), dates, and columns the leakage/identifier guard "
        "flagged (see `icpkit check` and the report for the list and reasons).",
    )
    sales_process_names: list[str] = Field(
        default_factory=list,
        description="Extra words that mark a column name as sales-process state (a status, tag "
        "or rating the sales team fills in), added to the built-in vocabulary in seven languages; "
        "'x*' matches words starting with x, '^x' only at the start of the name, '=x' only as the "
        "whole name. A name match and "
        "one more piece of evidence (sales-process values, a separation well above the other "
        "columns) exclude the column.",
    )
    sales_process_values: list[str] = Field(
        default_factory=list,
        description="Extra values that describe a contact attempt or its result ('call back "
        "later', 'lost to competitor'), added to the built-in vocabulary; a text column whose "
        "values are mostly such phrases reads as sales-process state.",
    )
    placeholders: list[str] = Field(
        default_factory=list,
        description="More level values that mean 'no answer' or 'anything else' (besides "
        "unknown, other, n/a, none, -, select, not specified, nonexistent … in several "
        "languages): a condition made only of them or of missing values is never an ICP "
        "criterion, and a column holding nothing else is not an attribute.",
    )
    people: list[str] = Field(
        default_factory=list,
        description="More column-name words for the people of the sales process (besides "
        "owner, rep, seller, SDR, account manager … in several languages): such a column is "
        "never a customer trait; the report lists it as a sales-process finding.",
    )
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Seed of the holdout split and permutations."
    )


class ScoringConfig(_Section):
    """The points scorecard."""

    target: Literal["best", "won"] | None = Field(
        None,
        description="best: best-vs-rest per account; won: won-vs-lost per deal. Unset: 'won' "
        "when the outcome is binary (won and lost deals, at most one closed deal per account, "
        "e.g. a lead list), else 'best'; the choice is recorded in the profile.",
    )
    regularization: float = Field(
        1.0, gt=0, description="Inverse L2 strength (C) of the logistic model."
    )
    max_bins: int = Field(6, ge=2, le=20, description="Most bins per numeric attribute.")
    min_bin_share: float = Field(
        0.03, gt=0, lt=0.5, description="Rare categories below this share are pooled."
    )
    numeric_encoding: Literal["steps", "onehot"] = Field(
        "steps",
        description="steps: the penalty shrinks the jump between neighbouring numeric bins; "
        "onehot: each bin towards zero.",
    )
    regularization_grid: list[float] = Field(
        default_factory=lambda: [0.03, 0.1, 0.3, 1.0],
        description="C values tried by inner cross-validation (least log-loss wins); "
        "empty: use regularization.",
    )
    interaction_segments: int = Field(
        0,
        ge=0,
        description="Most discovered segments (AND of conditions) added as interaction "
        "features, chosen on the training rows; 0: none.",
    )


# ----------------------------------------------------------------------------- product usage


class UsageConfig(_Section):
    """Product usage ([usage]): the events export, how users map onto accounts, and how each
    behavioural feature is defined (event-name patterns are globs: * any text, ? one character)."""

    path: str = Field(
        "",
        description="Events export, relative to the workspace (.jsonl/.ndjson/.json, .csv, "
        ".parquet); empty: no usage.",
    )
    format: Literal[
        "auto", "posthog", "segment", "rudderstack", "amplitude", "mixpanel", "csv", "parquet"
    ] = Field("auto", description="Export format; auto guesses from the suffix and first line.")
    group_property: str = Field(
        "",
        description="Dotted path of the account/workspace id in each JSON event (default per "
        "format: $groups.company, context.groupId, groups.company, company_id).",
    )
    value_property: str = Field("value", description="Event property holding a number.")
    integration_property: str = Field(
        "integration", description="Event property naming the integration an event connects."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="CSV/Parquet: canonical column (group_id, user_id, timestamp, event, value, "
        "integration) → file column.",
    )
    account_map: str = Field(
        "",
        description="Optional CSV mapping ids to accounts: columns 'key' (a group/workspace or "
        "user id) and 'account_id'.",
    )
    map_by_email_domain: bool = Field(
        True,
        description="Map a user id that is an e-mail address to the account whose domain (or "
        "whose contacts' e-mail domain) it shares.",
    )
    ignore_events: list[str] = Field(
        default_factory=lambda: ["$*", "page*", "screen*", "identify", "session*", "heartbeat"],
        description="Events that never count as activity (page views, autocapture, sessions).",
    )
    key_events: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Events that are key features: breadth = distinct ones used (ignored events "
        "excluded).",
    )
    value_events: list[str] = Field(
        default_factory=lambda: ["*created", "*published", "*shared", "*invited*"],
        description="Events that mark first value; time to value = days from the start to the "
        "first one.",
    )
    integration_events: list[str] = Field(
        default_factory=lambda: ["*integration*connected*", "*integration_added*", "*connected"],
        description="Events that connect an integration (named by integration_property, else "
        "by the event).",
    )
    counts: dict[str, str] = Field(
        default_factory=dict,
        description="Extra counted features: name → event pattern; usage_count_<name> is the "
        "number of matching events before the as-of date.",
    )
    start: Literal["first_event", "deal_close"] = Field(
        "first_event",
        description="When an account's clock starts (time to value, early window): its first "
        "event (sign-up) or its first won deal's close.",
    )
    early_days: int = Field(
        30, ge=1, le=365, description="Integrations are counted in the first this many days."
    )
    recent_weeks: int = Field(
        4, ge=1, le=52, description="Activity window: active users, depth, frequency, trend."
    )
    baseline_weeks: int = Field(
        8, ge=1, le=104, description="Trend: the recent weeks vs this many weeks before them."
    )
    seats_column: str = Field(
        "seats",
        description="Accounts column with purchased seats (active-user share); absent: the "
        "account's contacts.",
    )
    created_column: str = Field(
        "created_at",
        description="Accounts column with the account's creation date (events before it are "
        "reported by check).",
    )
    bot_events_per_minute: int = Field(
        1000,
        ge=10,
        description="A user with this many events in one minute is a bot: reported by check, "
        "excluded from features.",
    )
    max_clock_skew_hours: float = Field(
        24, ge=0, description="Events later than now by more than this are clock skew."
    )
    surge_ratio: float = Field(
        2.0, gt=1, description="Signal usage_surge: events in the signal window ≥ this × before."
    )
    drop_ratio: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Signal usage_drop: events in the signal window ≤ this × before.",
    )
    signal_window_days: int = Field(
        14, ge=7, le=90, description="Surges and drops compare this many days with the same before."
    )
    signal_min_events: int = Field(
        20, ge=1, description="Fewest events in the two windows before a surge or drop counts."
    )
    pqa_very_high: float = Field(
        0.01, gt=0, lt=1, description="PQA: share of open accounts in the 'very high' band."
    )
    pqa_high: float = Field(
        0.10, gt=0, lt=1, description="PQA: cumulative share down to the end of 'high'."
    )
    pqa_medium: float = Field(
        0.30, gt=0, lt=1, description="PQA: cumulative share down to the end of 'medium'."
    )

    @model_validator(mode="after")
    def _bands_in_order(self) -> UsageConfig:
        if not self.pqa_very_high < self.pqa_high < self.pqa_medium:
            raise ValueError(
                "pqa_very_high < pqa_high < pqa_medium is required; found "
                f"{self.pqa_very_high}, {self.pqa_high}, {self.pqa_medium}"
            )
        return self


class TierConfig(_Section):
    """How tiers are cut."""

    tier1_share: float = Field(0.1, gt=0, lt=1, description="Target share of accounts in Tier 1.")
    tier2_share: float = Field(0.2, gt=0, lt=1, description="Target share of accounts in Tier 2.")
    tier3_share: float = Field(0.3, gt=0, lt=1, description="Target share of accounts in Tier 3.")

    @model_validator(mode="after")
    def _shares_fit(self) -> TierConfig:
        total = self.tier1_share + self.tier2_share + self.tier3_share
        if total > 1 + 1e-9:
            raise ValueError(
                f"tier1_share + tier2_share + tier3_share must be at most 1 (the rest is Non-fit); "
                f"they sum to {total:g}"
            )
        return self

    disqualifier_evidence: Literal["strong", "moderate", "never"] = Field(
        "moderate",
        description="Least evidence a learned disqualifier needs (and q at most discovery.alpha) "
        "to make an account Non-fit whatever its score; weaker ones only subtract points. "
        "never: no learned disqualifier overrides the score.",
    )


class BandsConfig(_Section):
    """The familiar 0–100 band scale shown beside the tiers (issue 27), and the calibrated score.

    Defaults follow MadKudu's scale (very good 85–100, good 70–84, medium 50–69, low < 50); for
    6sense's (strong 81+, moderate 50–80, weak < 50) set ``names = ["strong", "moderate",
    "weak"]``, ``edges = [81, 50]``, ``anchors = [81, 65, 50]``. Tiers keep their own rules.
    """

    names: list[str] = Field(
        default_factory=lambda: ["very good", "good", "medium", "low"],
        description="Band names, best first (one more than edges).",
    )
    edges: list[int] = Field(
        default_factory=lambda: [85, 70, 50],
        description="Least calibrated score of each band but the last, descending, within 1–100.",
    )
    anchors: list[int] = Field(
        default_factory=lambda: [85, 70, 50],
        description="Calibrated score given to the Tier 1, Tier 2 and Tier 3 cut of the raw "
        "score (descending, within 1–99); between anchors the mapping is linear, so a Tier 1 "
        "account reads at least anchors[0].",
    )

    @model_validator(mode="after")
    def _consistent(self) -> BandsConfig:
        if len(self.names) != len(self.edges) + 1 or len(set(self.names)) != len(self.names):
            raise ValueError(
                f"bands.names needs one distinct name more than bands.edges; got "
                f"{len(self.names)} names for {len(self.edges)} edges"
            )
        for key, values, low, high, size in (
            ("edges", self.edges, 1, 100, None),
            ("anchors", self.anchors, 1, 99, 3),
        ):
            if size is not None and len(values) != size:
                raise ValueError(f"bands.{key} needs {size} values (Tier 1, 2, 3); got {values}")
            if any(not low <= v <= high for v in values) or any(
                a <= b for a, b in itertools.pairwise(values)
            ):
                raise ValueError(
                    f"bands.{key} must be strictly descending within {low}–{high}; got {values}"
                )
        return self


class ValidationConfig(_Section):
    """The out-of-time backtest."""

    cut_date: str | None = Field(
        None,
        description="Backtest cut date YYYY-MM-DD (default: leaves the last ~25% of closed deals after it).",
    )
    holdout_share: float = Field(
        0.25, gt=0, lt=1, description="Share of closed deals after the default cut."
    )
    cost_source: str | None = Field(
        None, description="Optional CSV of acquisition spend (segment or channel, spend) for CAC."
    )
    cv_folds: int = Field(
        5,
        ge=0,
        le=20,
        description="When dates cannot support an out-of-time backtest (one date, no deals table, "
        "no lost deal after the cut): folds of the stratified cross-validated estimate used "
        "instead, said as such in every report; 0 or 1: no fallback.",
    )

    @field_validator("cut_date")
    @classmethod
    def _plausible_cut(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            cut = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None
        if cut > date.today() + timedelta(days=366):
            raise ValueError(
                f"{value} is in the future: no deal closes after it, so there would be no "
                "backtest (leave it out to cut before the last 25% of closed deals)"
            )
        if cut.year < 1900:
            raise ValueError(f"{value} is before any CRM record")
        return value


class DriftConfig(_Section):
    """Thresholds of the drift verdict (`icpkit drift`): keep, review or rebuild.

    Defaults follow common PSI practice (< 0.1 stable, 0.1–0.25 moderate, > 0.25 major) and the
    usual advice to review an ICP every 3–6 months.
    """

    psi_moderate: float = Field(
        0.1, gt=0, description="PSI from which an attribute's shift is moderate (review)."
    )
    psi_major: float = Field(
        0.25, gt=0, description="PSI from which an attribute's shift is major (rebuild)."
    )
    review_after_days: int = Field(
        90, ge=0, description="Age of a version (days since it was built) that asks for a review."
    )
    rebuild_after_days: int = Field(
        180, ge=0, description="Age of a version that asks for a rebuild."
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="Significance level of the shift and decay tests."
    )
    relative_decay: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="A Tier-1 win rate this much lower (relatively) than at build time is decay.",
    )
    min_closed: int = Field(
        20, ge=1, description="Fewer recent Tier-1 closed deals than this: decay is not judged."
    )
    numeric_bins: int = Field(
        10, ge=2, description="Bins (training quantiles) of a numeric attribute for PSI."
    )
    max_levels: int = Field(
        20, ge=2, description="Levels of a categorical attribute kept for PSI (the rest pooled)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> DriftConfig:
        if self.psi_major < self.psi_moderate:
            raise ValueError("psi_major must be at least psi_moderate")
        if self.rebuild_after_days < self.review_after_days:
            raise ValueError("rebuild_after_days must be at least review_after_days")
        return self


class IcpPartition(_Section):
    """One of several ICPs built side by side: the accounts it is built from."""

    name: str = Field(description="Name of this ICP (a region, product line, segment or band).")
    where: str = Field(
        description="Rule selecting its accounts, in icpkit's rule text: region = 'EMEA', "
        "product_line in ('A', 'B'), annual_revenue in [0, 10000000)."
    )


class DeclaredTheme(_Section):
    """A theme the user names up front; notes are matched to it by meaning (zero-shot)."""

    name: str = Field(description="Theme name shown in reports, e.g. 'ERP integration'.")
    description: str = Field("", description="One sentence saying what the theme is about.")
    examples: list[str] = Field(
        default_factory=list, description="A few example notes in customers' own words."
    )


class ThemesConfig(_Section):
    """Pain themes from the notes table (interviews, calls, support, surveys, lost reasons)."""

    enabled: bool = Field(True, description="Find themes when a notes table exists.")
    distance_cut: float = Field(
        0.9,
        gt=0,
        le=2,
        description="Average-linkage cosine distance at which themes are cut (lower: more, "
        "tighter themes).",
    )
    min_theme_size: int = Field(
        10, ge=2, description="Fewest notes (in the clustering sample) for a theme to be kept."
    )
    min_theme_share: float = Field(
        0.01,
        ge=0,
        lt=1,
        description="Smallest theme kept, as a share of the notes (in the clustering sample); "
        "the larger of this and min_theme_size applies.",
    )
    merge_similarity: float = Field(
        0.5,
        ge=-1,
        le=1,
        description="Found themes whose centroids are at least this similar (centred cosine) are "
        "joined, as are themes sharing two of their keywords.",
    )
    max_themes: int = Field(
        15,
        ge=1,
        le=100,
        description="Most themes kept per family of notes (declared ones included); the closest "
        "themes are joined until the count fits.",
    )
    assign_similarity: float = Field(
        0.05,
        ge=-1,
        le=1,
        description="Least (centred) cosine similarity for a note to join its nearest theme; "
        "below it the note stays unassigned.",
    )
    sample_size: int = Field(
        4000,
        ge=100,
        description="Notes the theme tree is built on; the rest are assigned to the nearest theme.",
    )
    declared: list[DeclaredTheme] = Field(
        default_factory=list,
        description="Themes named up front ([[themes.declared]] name, description, examples); "
        "found themes that match one are merged into it.",
    )
    declared_similarity: float = Field(
        0.35,
        ge=-1,
        le=1,
        description="Least similarity between a found theme and a declared one for the two to "
        "be merged.",
    )
    quotes_per_theme: int = Field(3, ge=0, le=10, description="Representative quotes per theme.")
    alpha: float = Field(
        0.05, gt=0, lt=1, description="q-value (BH) below which a theme difference is reported."
    )
    seed: int = Field(0, description="Seed of the clustering sample.")


class PersonasConfig(_Section):
    """Buyer personas and the buying committee, read from the contacts' job titles."""

    title_overrides: str | None = Field(
        None,
        description="CSV of title, function, seniority that overrides the title classifier for "
        "those exact titles (relative to the workspace); a blank cell keeps the classifier's part.",
    )
    min_confidence: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A title's function or seniority read with less confidence is 'Unknown' "
        "rather than a guess.",
    )
    min_deals: int = Field(
        10,
        ge=1,
        description="Fewest closed deals with a persona on them for it to be tested and reported.",
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="Significance level of the persona tests (after BH)."
    )
    max_committee: int = Field(
        50,
        ge=1,
        description="Contacts on one deal beyond which the deal is left out of the persona "
        "analysis as a likely bulk import (counted in a warning).",
    )
    top_personas: int = Field(
        3, ge=1, le=10, description="Personas shown in the one-pager's 'Who to talk to' block."
    )


class SignalsConfig(_Section):
    """Buying signals: what each is worth, how fast it fades, and when an account is hot."""

    lookback_days: int = Field(
        365,
        ge=14,
        le=3650,
        description="Signals older than this are never linked to a deal (and the longest decay).",
    )
    test_window_days: int = Field(
        90,
        ge=7,
        le=730,
        description="Window after a signal in which its significance is tested, with a third of "
        "it for short effects (fixed in advance, so the tested window is not chosen by the data).",
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="False-discovery rate (BH) at which a signal type counts."
    )
    min_signals: int = Field(
        20, ge=1, description="Fewest events of a type before its effect is estimated."
    )
    min_class_deals: int = Field(
        40,
        ge=5,
        description="Fewest deals after a value class (e.g. a funding round) before it "
        "gets its own lift.",
    )
    hot_intent: float = Field(
        50.0, gt=0, le=100, description="Intent score from which an account is 'hot'."
    )
    warm_intent: float = Field(
        20.0, ge=0, le=100, description="Intent score from which an account is 'warm'."
    )
    horizon_days: int = Field(
        90, ge=7, le=730, description="Backtest: openings and wins counted over this many days."
    )


# ----------------------------------------------------------------------------- lookalikes


class LookalikesConfig(_Section):
    """Target lists from a company universe (`icpkit lookalikes`): the index and batches, and how
    the parts of the combined rank are weighed. None of these changes the ICP."""

    index: Literal["exact", "ann"] = Field(
        "exact",
        description="Nearest best customers by exact search, or by a faiss IVF index ('ann', needs "
        "the ann extra). Exact is as fast or faster below ~5,000 best customers; ANN pays for larger seed "
        "sets (docs/lookalikes.md).",
    )
    nlist: int = Field(
        0, ge=0, description="ANN: IVF cells (0: about 4·√best customers, ≥ 39 customers per cell)."
    )
    nprobe: int = Field(
        8, ge=1, description="ANN: cells searched per company (more: closer to exact, slower)."
    )
    batch_rows: int = Field(
        100_000,
        ge=1_000,
        description="Universe rows ranked per batch; memory grows with it (and with --top).",
    )
    text_weight: float = Field(
        0.5,
        ge=0,
        le=10,
        description="Weight of the description-similarity part (0-100) in rank_score, beside fit "
        "and likeness (weight 1 each); used only when the CRM accounts and the universe both have "
        "a description column; 0 leaves it out.",
    )
    text_neighbours: int = Field(
        10,
        ge=1,
        le=1000,
        description="Best customers' descriptions each company is compared with (mean cosine "
        "similarity of the closest ones).",
    )


# ----------------------------------------------------------------------------- sync (issue 26)


class SyncConfig(_Section):
    """Live CRM sync (`icpkit sync hubspot|salesforce`). Tokens are never settings: they come
    from the environment (HUBSPOT_TOKEN, SALESFORCE_ACCESS_TOKEN)."""

    notes: bool = Field(
        False, description="Also sync notes (HubSpot notes, Salesforce Note) for pain themes."
    )
    overlap_seconds: int = Field(
        300,
        ge=0,
        description="An incremental run re-reads records modified this long before the cursor "
        "(clock skew, search-index lag); re-read records are upserted, never duplicated.",
    )
    hubspot_requests_per_10s: int = Field(
        190,
        ge=0,
        description="Client-side HubSpot rate limit (requests per rolling 10 s; 0: none).",
    )
    salesforce_api_version: str = Field(
        "v59.0", pattern=r"^v\d{2}\.\d$", description="Salesforce REST API version."
    )
    timeout_seconds: float = Field(
        30.0, gt=0, description="Deadline of one API request; a slower one is retried."
    )
    retries: int = Field(
        5, ge=0, description="Retries of a request answered 429, 5xx, or timed out."
    )
    chunk_rows: int = Field(
        5000,
        ge=1,
        description="Records staged per durable chunk: a killed sync re-fetches at most this "
        "many per object.",
    )
    hubspot_properties: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Extra HubSpot properties per object (companies, deals, contacts, notes), "
        "kept as attributes. Names, e-mails and phones are refused.",
    )
    salesforce_fields: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Extra Salesforce fields per object (Account, Opportunity, Contact, Note), "
        "kept as attributes. Names, e-mails and phones are refused.",
    )


# ----------------------------------------------------------------------------- enrichment (issue 29)


class EnrichConfig(_Section):
    """Enrichment from company universes (`icpkit enrich`) and the market size (`icpkit market`)."""

    universes: list[str] = Field(
        default_factory=list,
        description="Company universe files (CSV or Parquet), in waterfall order: a value missing "
        "in the CRM is taken from the first universe that has it. `enrich --universe` overrides.",
    )
    threshold: float = Field(
        0.9,
        gt=0,
        lt=1,
        description="Match probability (the linkage model's posterior) at or above which a CRM "
        "account and a universe record are the same company.",
    )
    overwrite: bool = Field(
        False,
        description="Replace values the CRM already has with the universe's (default: fill blanks "
        "only; a different value is listed as a conflict).",
    )
    fields: list[str] = Field(
        default_factory=lambda: [
            "industry", "employees", "annual_revenue", "country", "founded_year", "description",
        ],
        description="Account columns enrichment fills.",
    )  # fmt: skip
    apply: bool = Field(
        True,
        description="Use the stored enrichment when the workspace is loaded (build, score, "
        "report); off: the CRM as exported.",
    )
    fold_duplicates: bool = Field(
        False,
        description="`build` folds accounts the linkage model finds to be one company (the "
        "`enrich` duplicates at or above the threshold) into the first id: deals and other "
        "tables move to it.",
    )
    industry_map: dict[str, str] = Field(
        default_factory=dict,
        description="Universe industry label → the workspace's industry value, for labels the "
        "automatic mapping (same word, close spelling) does not catch.",
    )
    draws: int = Field(
        2000, ge=100, le=100_000, description="Monte Carlo draws behind the market-size intervals."
    )


# ----------------------------------------------------------------------------- web (icpkit serve)


_FRAME_SOURCE = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:([0-9]{1,5}|\*))?$")


class WebConfig(_Section):
    """The HTTP API and web app (`icpkit serve`). None of these changes the ICP itself."""

    max_body_bytes: int = Field(
        5_000_000,
        ge=1_000,
        description="Largest request body (upload, JSON) accepted; 413 beyond it.",
    )
    build_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="CPU priority of a build started from the web, as a nice increment: its "
        "process yields the CPU to the server's workers, so scoring requests do not wait behind "
        "a build (0 keeps the server's priority; POSIX only).",
    )
    rate_per_minute: float = Field(
        600, gt=0, description="Requests per minute each API key may make (token bucket refill)."
    )
    rate_burst: int = Field(
        60, ge=1, description="Requests an API key may make at once before the rate limit applies."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser (CORS); empty: CORS off.",
    )
    max_rows: int = Field(
        100_000, ge=1, description="Most accounts scored in one request or upload."
    )
    secure_cookie: bool = Field(
        False, description="Mark the login cookie Secure (set when served over HTTPS)."
    )
    universe: str = Field(
        "",
        description="Company universe file (CSV or Parquet, inside the workspace or data_dirs) "
        "that GET /v1/lookalikes ranks; empty: lookalikes are not served.",
    )
    universe_map: bool = Field(
        False,
        description="The universe file uses the accounts export's headers (read it through "
        "[sources.accounts] like `lookalikes --map`).",
    )
    # --- the account card embedded in a CRM (repweb) ---
    frame_ancestors: list[str] = Field(
        default_factory=list,
        description="Origins allowed to show the /embed account card in a frame (CSP "
        "frame-ancestors), e.g. https://app.hubspot.com or https://*.lightning.force.com; "
        "empty: the card cannot be framed. Every other page is never framed.",
    )
    embed_secret_env: str = Field(
        "ICPKIT_EMBED_SECRET",
        pattern=r"^[A-Z_][A-Z0-9_]{0,63}$",
        description="Environment variable holding the secret (32+ characters) that signs "
        "embed links (HMAC-SHA256); unset: only an API key opens a card.",
    )
    embed_max_hours: int = Field(
        720,
        ge=1,
        le=24 * 365,
        description="Longest life of a signed embed link; a link expiring later is refused.",
    )

    @field_validator("frame_ancestors")
    @classmethod
    def _sources(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "'self'" and not _FRAME_SOURCE.match(origin):
                raise ValueError(
                    f"{origin!r} is not an origin a frame-ancestors list takes (expected "
                    "https://host, https://*.host, an optional :port or :*, or 'self'; no path)"
                )
        return value


class RefreshConfig(_Section):
    """`icpkit refresh`: the scheduled sync → build → promotion gate → rescore → push → alerts.

    The gate compares the candidate with the version in use on the same out-of-time cut and
    promotes it only when it is not worse (docs/operations.md).
    """

    source: Literal["hubspot", "salesforce"] | None = Field(
        None,
        description="CRM to sync before building (`icpkit sync <source>`); none: the workspace's "
        "files are read as they are.",
    )
    full_sync: bool = Field(False, description="Sync everything each time, not incrementally.")
    include_notes: bool = Field(False, description="Also sync notes/engagements.")
    base_url: str | None = Field(
        None, description="CRM API base URL for the sync (default: the CRM's own)."
    )
    always_promote: bool = Field(
        False,
        description="Promote every candidate that builds, without the gate (the gate's "
        "comparison is still computed and logged).",
    )
    auc_tolerance: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="A candidate is worse when the upper end of the interval of its held-out AUC "
        "minus the champion's is below minus this.",
    )
    lift_tolerance: float = Field(
        0.0,
        ge=0,
        description="A candidate is worse when the upper end of the interval of its Tier 1 vs "
        "rest lift minus the champion's is below minus this.",
    )
    new_failures_block: bool = Field(
        True,
        description="Reject a candidate whose held-out verdict (page 1) fails a test the "
        "champion's passes on the same cut.",
    )
    confidence: float = Field(
        0.95, gt=0.5, lt=1, description="Confidence of the paired bootstrap intervals."
    )
    bootstrap: int = Field(
        400, ge=50, le=10000, description="Paired bootstrap resamples (by account)."
    )
    seed: int = Field(0, description="Seed of the bootstrap.")
    min_closed: int = Field(
        40,
        ge=1,
        description="Fewest held-out closed deals the gate needs to compare; with fewer, the "
        "champion is kept (exit code 11) unless always_promote.",
    )
    push: Literal["none", "hubspot", "salesforce"] = Field(
        "none",
        description="CRM to push changed rows to after a promotion (tokens from the environment, "
        "as `icpkit push`).",
    )
    push_folder: str = Field(
        ".icpkit/refresh/push",
        description="Folder (relative to the workspace) for the push files and resumable log.",
    )
    id_property: str | None = Field(
        None,
        description="Push: HubSpot unique property / Salesforce external ID field holding "
        "account_id (default: update by record id).",
    )
    score_change: float = Field(
        1.0,
        ge=0,
        description="Push a row when its fit score moved by at least this many points (or its "
        "tier changed).",
    )


class AlertsConfig(_Section):
    """Alerts (through apprise): Slack, Microsoft Teams, e-mail, generic JSON webhooks.

    URLs carry secrets (webhook tokens, mail passwords): prefer the ICPKIT_ALERT_URLS environment
    variable (space or comma separated) to writing them here; both are used when both are set.
    """

    urls: list[str] = Field(
        default_factory=list,
        description="apprise URLs (slack://…, msteams://…, mailtos://…, json://host/path); "
        "see docs/operations.md. Never printed or logged.",
    )
    tier1_moves: int = Field(
        10,
        ge=1,
        description="Alert when at least this many accounts moved into Tier 1 in one refresh.",
    )


class BuildConfig(_Section):
    """How a build uses the machine (not what it finds: these settings never change the profile)."""

    workers: int = Field(
        1,
        ge=1,
        le=2,
        description="Processes a build may use. 2: the pain themes of a large notes table "
        "(at least `parallel_min_notes` notes) are found in a second process while the main one "
        "runs discovery, the scorecard, validation and signals; the profile is the same as "
        "with 1, which runs everything in one process. The second process is used only when "
        "the machine has more than one CPU. On 2 cores one process was faster (its polars and "
        "BLAS threads already use both; bench/RESULTS.md), so 2 is for machines with more.",
    )
    parallel_min_notes: int = Field(
        20000,
        ge=0,
        description="Fewest notes for the themes to go to a second process (`workers = 2`); "
        "below it starting a process costs more than it saves.",
    )


class WorkspaceConfig(_Section):
    """The whole icpkit.toml."""

    name: str = Field("icp", description="Name of this ICP workspace (shown in reports).")
    preset: Literal["none", "hubspot", "salesforce", "maven"] = Field(
        "none", description="Column-mapping preset the sources follow."
    )
    currency: str = Field("USD", description="Currency amounts are reported in.")
    sources: dict[str, SourceConfig] = Field(
        default_factory=dict,
        description="One entry per canonical table (accounts required; deals, subscriptions, contacts, "
        "notes, signals optional).",
    )
    success: SuccessConfig = Field(default_factory=SuccessConfig, description="Success definition.")
    discovery: DiscoveryConfig = Field(
        default_factory=DiscoveryConfig, description="Segment search."
    )
    scoring: ScoringConfig = Field(default_factory=ScoringConfig, description="Scorecard.")
    tiers: TierConfig = Field(default_factory=TierConfig, description="Tier cut-offs.")
    bands: BandsConfig = Field(
        default_factory=BandsConfig, description="Familiar 0–100 bands beside the tiers."
    )
    validation: ValidationConfig = Field(default_factory=ValidationConfig, description="Backtest.")
    drift: DriftConfig = Field(
        default_factory=DriftConfig, description="Drift verdict thresholds (`icpkit drift`)."
    )
    # --- input safety and hygiene (data layer) ---
    data_dirs: list[str] = Field(
        default_factory=list,
        description="Folders besides the workspace that sources may be read from (relative to "
        "the workspace; `icpkit init DIR -w WS` writes DIR here). Any other path outside the "
        "workspace is refused.",
    )
    allow_outside_workspace: bool = Field(
        False,
        description="Read sources from anywhere, not only the workspace and data_dirs. Leave "
        "off for a config you did not write yourself.",
    )
    na_values: list[str] = Field(
        default_factory=lambda: list(DEFAULT_NA_VALUES),
        description="Cell values that mean 'no answer' in every source (compared ignoring case "
        "and surrounding space); they become missing before typing. Per-column additions: "
        "[sources.<table>] na_values.",
    )
    max_columns: int = Field(
        5000,
        ge=1,
        description="Most columns a source may have; a wider file is refused with a clear "
        "message (drop columns first, or raise this).",
    )
    icps: list[IcpPartition] = Field(
        default_factory=list,
        description="Several ICPs side by side ([[icps]] name / where): each partition gets its "
        "own best and worst customers and discovery, and the report compares them.",
    )
    themes: ThemesConfig = Field(
        default_factory=ThemesConfig, description="Pain themes from notes."
    )
    personas: PersonasConfig = Field(
        default_factory=PersonasConfig, description="Buyer personas and the buying committee."
    )
    signals: SignalsConfig = Field(
        default_factory=SignalsConfig, description="Buying signals, intent and 'why now'."
    )
    web: WebConfig = Field(
        default_factory=WebConfig, description="HTTP API and web app (`icpkit serve`)."
    )
    lookalikes: LookalikesConfig = Field(
        default_factory=LookalikesConfig,
        description="Target lists from a company universe (`icpkit lookalikes`).",
    )
    sync: SyncConfig = Field(
        default_factory=SyncConfig,
        description="Live CRM sync (`icpkit sync hubspot|salesforce`).",
    )
    enrich: EnrichConfig = Field(
        default_factory=EnrichConfig,
        description="Enrichment from company universes (`icpkit enrich`) and the market size.",
    )

    usage: UsageConfig = Field(
        default_factory=UsageConfig,
        description="Product usage: events export, behavioural features, PQA bands.",
    )
    refresh: RefreshConfig = Field(
        default_factory=RefreshConfig,
        description="Scheduled refresh and its promotion gate (`icpkit refresh`).",
    )
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig, description="Alerts of `icpkit refresh` (apprise URLs)."
    )
    build: BuildConfig = Field(
        default_factory=BuildConfig,
        description="Processes of a build (`icpkit build`); never changes what is built.",
    )

    def content_hash(self) -> str:
        """A stable hash of every setting, stored with each version."""
        # The web section serves the ICP; it does not shape it, so it stays out of the hash.
        # Nor does the lookalikes section (it ranks other companies against the ICP), nor sync
        # (how the data is fetched, not what it says), nor the refresh and alerts sections (they
        # decide when a version goes live, not what it is), nor the bands (a reading of the
        # score, computed when scoring), nor build (how many processes compute the same result).
        text = json.dumps(
            self.model_dump(
                mode="json",
                exclude={"web", "lookalikes", "sync", "refresh", "alerts", "bands", "build"},
            ),
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_config(workspace: Path) -> WorkspaceConfig:
    """Read ``icpkit.toml`` from a workspace folder (or a path to the file itself)."""
    path = workspace if workspace.suffix == ".toml" else workspace / CONFIG_NAME
    if not path.exists():
        raise ConfigError(f"{path}: no icpkit.toml here (run `icpkit init DIR` to create one)")
    return config_from_dict(read_toml(path), origin=str(path))


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a mapping; a missing, unreadable or malformed file is a ConfigError."""
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def config_from_dict(raw: dict[str, Any], origin: str = "config") -> WorkspaceConfig:
    """Validate a config mapping; every problem is listed in one ConfigError."""
    try:
        return WorkspaceConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            lines.append(f"  - {key}: {err['msg']} (found {err.get('input')!r})")
        raise ConfigError(f"{origin}: invalid settings:\n" + "\n".join(lines)) from None


def iter_settings(
    model: type[BaseModel] = WorkspaceConfig, prefix: str = ""
) -> list[tuple[str, str, str, str]]:
    """Every setting as (key, type, default, help), sections flattened; the source of the docs."""
    rows: list[tuple[str, str, str, str]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows.extend(iter_settings(ann, prefix=f"{key}."))
            continue
        default = info.get_default(call_default_factory=True)
        type_name = getattr(ann, "__name__", None) or str(ann).replace("typing.", "")
        shown = "(required)" if info.is_required() else json.dumps(default, default=str)
        rows.append((key, type_name, shown, info.description or ""))
    return rows


def settings_markdown() -> str:
    """The reference of every icpkit.toml setting, generated from the models (docs/config.md)."""
    lines = [
        "# icpkit.toml reference",
        "",
        "Generated from `src/icpkit/config.py` by `make docs`;",
        "`tests/test_config.py` fails when this page and the code disagree.",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for key, type_name, default, help_text in iter_settings():
        lines.append(f"| `{key}` | {type_name} | `{default}` | {help_text} |")
    lines += [
        "",
        "## Each source (`[sources.<table>]`)",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for key, type_name, default, help_text in iter_settings(SourceConfig):
        lines.append(f"| `{key}` | {type_name} | `{default}` | {help_text} |")
    lines += [
        "",
        "## Each success metric (`[[success.metrics]]`)",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for key, type_name, default, help_text in iter_settings(SuccessMetric):
        lines.append(f"| `{key}` | {type_name} | `{default}` | {help_text} |")
    lines += [
        "",
        "## Each ICP partition (`[[icps]]`)",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for key, type_name, default, help_text in iter_settings(IcpPartition):
        lines.append(f"| `{key}` | {type_name} | `{default}` | {help_text} |")
    return "\n".join(lines) + "\n"
