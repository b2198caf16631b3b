"""What the report shows, read from the result objects: the view both templates render.

Nothing here computes a statistic. It picks, groups, sorts and formats what discovery, scoring,
tiers, validation and the store already measured, and notes which sections have no data so the
report can say what to add instead of showing an empty table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from icpkit.errors import IcpError
from icpkit.profile import (
    ColumnFate,
    DataQualitySection,
    IcpProfile,
    PartitionsSection,
    RuleEvidence,
    SingleTrait,
    ValidationSection,
)
from icpkit.report import formatting as fmt
from icpkit.report.feedback_view import FeedbackView
from icpkit.report.formatting import Table, records_table
from icpkit.report.lookalikes_view import FindMoreView
from icpkit.report.personas_view import MISSING as PERSONAS_MISSING
from icpkit.report.personas_view import PersonasView
from icpkit.report.themes_view import PainsView
from icpkit.rules import parse_segment

CATEGORIES = ("firmographics", "technographics", "behaviour", "buying process", "other attributes")
FIRMOGRAPHIC = frozenset(
    {
        "industry",
        "sub_industry",
        "employees",
        "annual_revenue",
        "revenue",
        "country",
        "region",
        "state",
        "city",
        "founded_year",
        "company_age",
        "ownership",
        "funding_stage",
        "segment",
    }
)
_TECH_WORDS = ("tech", "stack", "tool", "platform", "integration", "software")
_BUYING_WORDS = (
    "champion",
    "title",
    "persona",
    "seniority",
    "department",
    "role",
    "decision",
    "buyer",
    "committee",
    "stakeholder",
    "cycle",
    "budget",
    "procurement",
    "contract",
    "deal",
    "amount",
    "acv",
    "discount",
    "product",
)
_BEHAVIOUR_WORDS = (
    "visit",
    "usage",
    "engagement",
    "signal",
    "intent",
    "nps",
    "csat",
    "login",
    "active",
    "download",
    "webinar",
    "event",
    "trial",
    "source",
    "referral",
    "hiring",
    "funding_round",
    "leadership",
    "churn",
    "tenure",
    "expansion",
)
ONEPAGER_CRITERIA = 8  # more rows than this would push the one-pager onto a second page
ONEPAGER_DISQUALIFIERS = 4
EVIDENCE_LEVELS = ("strong", "moderate", "weak", "insufficient")


@dataclass(frozen=True)
class CriterionRow:
    """One criterion or disqualifier as displayed, with its evidence in compact form."""

    category: str
    text: str
    rule: str
    support: str
    coverage: str
    precision: str
    lift: str
    lift_ci: str
    q_value: str
    evidence: str
    evidence_note: str = ""


@dataclass(frozen=True)
class Chart:
    """A declared chart: its key, title, one-line caption and the SVG markup."""

    key: str
    title: str
    caption: str
    svg: str


@dataclass(frozen=True)
class Titled:
    """A titled table (one attribute's single-trait profile, one validation table…)."""

    title: str
    table: Table
    note: str = ""


@dataclass(frozen=True)
class ReportView:
    """Everything the templates show, already formatted; ``missing`` says what is absent and why."""

    title: str
    version_label: str
    data_date: str
    built_at: str
    statement: str
    criteria_groups: list[tuple[str, list[CriterionRow]]]
    criteria_hidden: int
    disqualifiers: list[CriterionRow]
    disqualifiers_hidden: int
    tiers: Table
    tiers_detail: Table
    tier_note: str
    charts: list[Chart]
    counts_line: str
    segments: Table
    single_traits: list[Titled]
    scorecard: Table
    scorecard_note: str
    validation_lines: list[str]
    validation_tables: list[Titled]
    gains_chart: Chart | None
    quality_lines: list[str]
    quality_tables: list[Titled]
    diff_text: str
    method_lines: list[str]
    caveats: list[str]
    missing: dict[str, str] = field(default_factory=dict)
    partition_lines: list[str] = field(default_factory=list)
    partition_tables: list[Titled] = field(default_factory=list)
    held_out: HeldOut | None = None
    pains: PainsView | None = None  # themes and messaging (report/themes_view.py)
    personas: PersonasView | None = None
    reach_out_lines: list[str] = field(default_factory=list)
    signals_note: str = ""
    signals_tables: list[Titled] = field(default_factory=list)
    feedback: FeedbackView | None = None  # reps' verdicts (report/feedback_view.py)
    find_more: FindMoreView | None = None  # the last lookalikes run (report/lookalikes_view.py)
    enrichment_lines: list[str] = field(default_factory=list)  # report/enrich_view.py
    market_html: str = ""  # the last market run's tables and charts (report/enrich_view.py)
    market_markdown: str = ""

    usage_tables: list[Titled] = field(default_factory=list)  # product usage (usage_view.py)


@dataclass(frozen=True)
class HeldOut:
    """The held-out verdict for page 1: 'pass', 'warn', 'fail' or 'missing', headline, lines."""

    status: str
    headline: str
    lines: tuple[str, ...]

    @property
    def alarm(self) -> bool:
        """Not a green banner: the test failed, there is none, or it passed only with caveats."""
        return self.status != "pass"

    @property
    def tone(self) -> str:
        """The banner's colour class: 'ok' (passed), 'warn' (amber: caution) or 'alarm' (red)."""
        return {"pass": "ok", "warn": "warn"}.get(self.status, "alarm")


def held_out(validation: ValidationSection | None, caveats: Sequence[str] = ()) -> HeldOut:
    """What page 1 says about the held-out test, read from the stored verdict."""
    dropped = [
        c
        for c in caveats
        if c.startswith(("out-of-time backtest", "cross-validated estimate", "no held-out test"))
    ]
    if not validation:
        return HeldOut(
            "missing",
            "Not tested on held-out data: nothing here shows the ICP predicts outcomes on "
            "accounts it was not built from. Treat every figure as in-sample.",
            tuple(_sentence_case(c) + "." for c in dropped),
        )
    verdict = validation.verdict
    if verdict is None:
        return HeldOut(
            "missing",
            "This version stores no held-out verdict (built by an older icpkit): rebuild it.",
            (),
        )
    status = verdict.status
    lines = tuple(verdict.lines)
    headline = {
        "pass": "Held-out test passed.",
        "warn": "Not passed.",
        "fail": "Held-out test FAILED: do not rely on this ICP's ranking or on its badges.",
        "missing": "No held-out verdict: the held-out data could not test the ranking.",
    }.get(status, "No held-out verdict.")
    return HeldOut(status, headline, lines)


MISSING = {
    "criteria": "No criterion has enough evidence yet: add more closed deals or outcomes.",
    "disqualifiers": "No disqualifier has enough evidence yet.",
    "tiers": "Tiers not available: the ICP has no scorecard (add a deals table so icpkit can learn "
    "one, or write a spec).",
    "charts": "Charts not available: they need the single-trait profiles or tiers of a "
    "learned ICP.",
    "segments": "Segments not available: discovery reported none.",
    "single_traits": "Single-trait profiles not available: discovery reported none.",
    "scorecard": "Scorecard not available: add a deals table (won/lost) so icpkit can learn "
    "points.",
    "validation": "Backtest not available: add a deals table with created_at dates so icpkit can "
    "test the ICP on deals after a cut date.",
    "data_quality": "Data-quality summary not available: run `icpkit check` on the workspace.",
    "diff": "No previous version to compare with: this is the first saved version.",
    "personas": PERSONAS_MISSING,
}


def attribute_category(attr: str, op: str = "eq") -> str:
    """Which kind of criterion an attribute is: firmographics, technographics, behaviour…

    Known firmographic columns first; a multi-valued (``contains``) attribute is a technographic
    tag; otherwise the attribute's name decides, and anything unknown is 'other attributes'.
    """
    name = attr.lower()
    if name in FIRMOGRAPHIC:
        return "firmographics"
    if op == "contains" or any(w in name for w in _TECH_WORDS):
        return "technographics"
    if any(w in name for w in _BUYING_WORDS):
        return "buying process"
    if any(w in name for w in _BEHAVIOUR_WORDS):
        return "behaviour"
    return "other attributes"


def rule_category(rule: str) -> str:
    """The category of a rule: its most specific condition's (buying process over behaviour over
    technographics over firmographics), because that is the signal a seller acts on."""
    try:
        conditions = list(parse_segment(rule))
    except IcpError:
        return "other attributes"
    found = {attribute_category(c.attr, c.op) for c in conditions}
    for category in ("buying process", "behaviour", "technographics", "firmographics"):
        if category in found:
            return category
    return "other attributes"


def criterion_row(r: RuleEvidence) -> CriterionRow:
    """A rule and its evidence, formatted for a table."""
    return CriterionRow(
        category=rule_category(r.rule),
        text=_sentence_case(r.description) or r.rule,
        rule=r.rule,
        support=f"{r.support:,}",
        coverage=fmt.percent(r.coverage),
        precision=fmt.percent(r.precision),
        lift=fmt.lift(r.lift),
        lift_ci=fmt.interval(r.lift_ci[0], r.lift_ci[1]),
        q_value=fmt.q_value(r.q_value),
        evidence=r.evidence,
        evidence_note=r.evidence_note,
    )


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def group_criteria(rows: Sequence[CriterionRow]) -> list[tuple[str, list[CriterionRow]]]:
    """Criteria by category, categories in the fixed reading order, rows in discovery's order."""
    return [
        (c, [r for r in rows if r.category == c])
        for c in CATEGORIES
        if any(r.category == c for r in rows)
    ]


TRAIT_COLUMNS = (
    "trait",
    "support",
    "share_best",
    "share_not_best",
    "lift_best",
    "lift_best_ci",
    "q_best",
    "share_worst",
)
TRAIT_ROWS = 12  # per attribute; the JSON profile keeps every condition


def single_trait_tables(traits: Sequence[SingleTrait]) -> list[Titled]:
    """One table per attribute: each condition's share among the best, the rest and the worst.

    Rows keep discovery's order (numeric bins by value then the best threshold, levels by lift);
    each ``*_lo``/``*_hi`` pair is shown as one interval column.
    """
    by_attribute: dict[str, list[dict[str, Any]]] = {}
    for t in traits:
        row = t.model_dump(mode="json")
        # the plain-words label; the rule text when an older profile has none (never empty)
        row["trait"] = (t.label or t.rule).strip() or "(no label)"
        if t.kind == "threshold":
            row["trait"] = f"best single threshold: {row['trait']}"
        for key in [k for k in row if k.endswith("_lo") and k[:-3] + "_hi" in row]:
            row[key[:-3] + "_ci"] = [row[key], row[key[:-3] + "_hi"]]
        by_attribute.setdefault(t.attribute, []).append(row)
    out = []
    for attribute, rows in by_attribute.items():
        known = [c for c in TRAIT_COLUMNS if any(c in r for r in rows)]
        columns = known or [k for k in rows[0] if k != "attribute"]
        hidden = len(rows) - TRAIT_ROWS
        note = f"{hidden} more conditions in the JSON profile." if hidden > 0 else ""
        out.append(Titled(attribute, records_table(rows[:TRAIT_ROWS], columns), note))
    return out


def segment_records(profile: IcpProfile) -> list[dict[str, Any]]:
    """Every reported segment; the criteria and disqualifiers when discovery stored none."""
    if profile.segments:
        # a family's variants read as one short list ("founded in 2005 or later; 200+ employees");
        # the JSON profile keeps them all
        return [
            {**s.model_dump(mode="json"), "also": "; ".join(s.also[:ALSO_SHOWN]) or None}
            for s in profile.segments
        ]
    return [
        {**r.model_dump(mode="json"), "kind": kind}
        for kind, rules in (
            ("criterion", profile.criteria),
            ("disqualifier", profile.disqualifiers),
        )
        for r in rules
    ]


ALSO_SHOWN = 2  # variants listed per segment family in the report (all in the JSON)

SEGMENT_COLUMNS = (
    "rule",
    "also",
    "kind",
    "support",
    "coverage",
    "precision",
    "lift",
    "lift_ci",
    "q_value",
    "evidence",
    "holdout_lift",
)


def segments_table(profile: IcpProfile) -> Table:
    """Every segment with its evidence, in discovery's order (search internals stay in the JSON)."""
    rows = segment_records(profile)
    return records_table(rows, [c for c in SEGMENT_COLUMNS if any(c in r for r in rows)])


def quality_summary(quality: DataQualitySection | None) -> tuple[list[str], list[Titled]]:
    """Data-quality sentences (warnings, missing tables and what they would unlock) and tables."""
    lines: list[str] = []
    tables: list[Titled] = []
    if quality is None:
        return lines, tables
    n = max(quality.n_warnings, len(quality.warnings))
    lines.append(
        f"{n:,} warning{'s' if n != 1 else ''} while loading the data."
        if n
        else "No warnings while loading the data."
    )
    lines += [f"Warning: {w}" for w in quality.warnings[:20]]
    if n > 20:
        lines.append(f"… and {n - 20:,} more (run `icpkit check` for the full list).")
    lines += [
        f"Missing table {t}: it would unlock {what}." for t, what in quality.missing_tables.items()
    ]
    sizes = quality.tables
    if sizes:
        rows = [{"table": t, "rows": v} for t, v in sizes.items()]
        tables.append(Titled("Rows per table", records_table(rows)))
    return lines, tables


def column_fates_summary(fates: Sequence[ColumnFate] | None) -> tuple[list[str], list[Titled]]:
    """The sales-process finding (people columns) and the table of every column's fate."""
    if not fates:
        return [], []
    people = [f.column for f in fates if f.fate == "sales_process"]
    lines = (
        [
            f"Sales process: {', '.join(people)} hold{'s' if len(people) == 1 else ''} the "
            "assigned person (owner, rep or account manager); who works an account is not a "
            "trait of the customer, so it is left out of the ICP."
        ]
        if people
        else []
    )
    used = sum(f.fate in ("attribute", "grouped") for f in fates)
    rows = [{"column": f.column, "fate": f.fate.replace("_", " "), "why": f.reason} for f in fates]
    title = f"Every column of the accounts table ({used} of {len(fates)} used)"
    return lines, [Titled(title, records_table(rows))]


def counts_line(counts: Mapping[str, int]) -> str:
    """The sample sizes behind the ICP, in one line."""
    names = (
        ("n_accounts", "accounts"),
        ("n_best", "best"),
        ("n_worst", "worst"),
        ("n_rest", "in between"),
        ("n_deals", "deals"),
    )
    parts = [f"{counts[k]:,} {label}" for k, label in names if k in counts]
    return "Based on " + ", ".join(parts) + "." if parts else ""


def method_lines(profile: IcpProfile) -> list[str]:
    """How the ICP was found and how much to trust it, in plain sentences from stored results."""
    lines = []
    sd = profile.success_definition
    metrics = [m.name for m in sd.metrics]
    if metrics:
        best, worst = sd.best_share, sd.worst_share
        shares = (
            f" The top {fmt.percent(best)} are the best customers and the bottom "
            f"{fmt.percent(worst)} the worst."
            if best is not None and worst is not None
            else ""
        )
        lines.append(f"Customers are ranked by a success score from {', '.join(metrics)}." + shares)
    if counts_line(profile.counts):
        lines.append(counts_line(profile.counts))
    rules = [*profile.criteria, *profile.disqualifiers]
    tally = {lvl: sum(r.evidence == lvl for r in rules) for lvl in EVIDENCE_LEVELS}
    if rules:
        lines.append(
            "Evidence of the criteria and disqualifiers: "
            + ", ".join(f"{n} {lvl}" for lvl, n in tally.items() if n)
            + "."
        )
    weak = [r for r in rules if r.evidence in ("weak", "insufficient")]
    if weak:
        lines.append(
            "Weak evidence — treat these as hypotheses to test, not facts: "
            + "; ".join(
                f"{r.rule} ({r.support:,} accounts, q {fmt.q_value(r.q_value)})" for r in weak
            )
            + "."
        )
    lines.append(
        "Coverage is the share of the best customers (worst, for a disqualifier) a rule "
        "describes; lift is how much likelier a covered account is to be among them "
        "than an average account, with its 95% confidence interval; q is the "
        "significance after correcting for the many rules tried."
    )
    return lines


VERDICT_WORDS = {
    "differs": "differs",
    "shared": "shared",
    "unclear": "unclear (too few accounts to tell)",
}


def partition_view(partitions: PartitionsSection | None) -> tuple[list[str], list[Titled]]:
    """Several ICPs side by side: one line per ICP, and the table of what differs and what is
    shared, each rule with its lift (and accounts) in every ICP and the p-value of the difference."""
    if partitions is None or not (partitions.icps or partitions.rules):
        return [], []
    lines = []
    for icp in partitions.icps:
        head = f"{icp.name} ({icp.n_accounts:,} accounts, {icp.n_best:,} best)"
        lines.append(f"{head}: {icp.note}." if icp.note else f"{head}: {icp.statement}")
    names = [icp.name for icp in partitions.icps]
    rows = []
    for rule in partitions.rules:
        row: dict[str, Any] = {
            "rule": rule.rule,
            "kind": rule.kind,
            "verdict": VERDICT_WORDS[rule.verdict],
        }
        for name in names:
            m = rule.per_icp.get(name)
            if m is None or m.lift is None:
                row[name] = f"– ({m.support if m is not None else 0:,})"
            else:
                row[name] = f"{fmt.lift(m.lift)} ({m.support:,})"
                if not m.evidence:
                    row[name] += " thin"
        row["p_differs"] = rule.p_differs
        rows.append(row)
    tables = []
    if rows:
        alpha = partitions.alpha
        tables.append(
            Titled(
                "What differs and what is shared",
                records_table(rows, ["rule", "kind", "verdict", *names, "p_differs"]),
                "Each ICP's lift over its own base rate, with the accounts the rule covers in "
                "brackets ('thin': too few best or worst customers there for evidence). "
                f"'differs': the rate differs between the ICPs (p < {alpha}) and the rule lifts "
                "some ICPs but not others; 'shared': it lifts every ICP.",
            )
        )
    return lines, tables
