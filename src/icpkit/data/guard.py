"""The leakage and identifier guard: columns that would give a confident ICP the data does not support.

Run before discovery and scoring on the candidate attribute columns. Every column gets a risk —
low, medium or high — from several kinds of evidence (:class:`Evidence`), strong or moderate:

(a) **separation**: its single-column held-out AUC (:mod:`icpkit.data.separation`: K-fold target
    encoding, folds by a hash of the account id) — strong when ≥ ``SEPARATION_AUC``, or when it
    stands far above the other columns' AUCs (robust z ≥ ``OUTLIER_Z`` against their median and
    spread, and AUC ≥ ``OUTLIER_AUC``); moderate when well above them (≥ ``ABOVE_AUC``, z ≥
    ``ABOVE_Z``);
(b) **sales-process words** (:mod:`icpkit.data.sales_process`, seven languages, extendable in
    config): the person a record is assigned to (strong: people are never traits); a status, tag,
    activity, rating or call-count name (moderate); values that read as contact attempts or
    results (moderate);
(c) **missingness by outcome**: filled for far more of one class (strong ≥ ``FILL_GAP`` apart);
(d) **identifiers and sequences**: unique per row and consecutive, or rising with the records'
    creation date (or the account id's number) — never with the order of the file's rows;
(e) **dates after the outcome**: later than the account's first closed deal.

High (one strong, or two moderate from different checks) → excluded with the reasons, stored on
the profile (``excluded_attributes``), listed by ``icpkit check``; ``discovery.allow`` re-admits
a column. Medium → kept, and named in the caveats and ``check``. The time-confound check warns (does
not exclude) when an attribute's values or fill rate shift strongly with the record's creation
date: a field collected only in recent months looks like a trait of recent — not better — customers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import spearmanr

from icpkit.config import DiscoveryConfig
from icpkit.data.attributes import AttributeChoice, Exclusion, choose_attributes
from icpkit.data.sales_process import NAME_KINDS, VALUE_SHARE, Vocabulary, vocabulary
from icpkit.data.separation import folds_of, held_out_auc, row_keys, standing
from icpkit.errors import Problem

SEPARATION_AUC = 0.97  # this separation alone is never a customer trait
OUTLIER_AUC = 0.85  # …nor this one when it stands far above the other columns
OUTLIER_Z = 4.0
OUTLIER_GAP = 0.25
ABOVE_AUC = 0.70  # a second piece of evidence when well above the others
ABOVE_Z = 2.5
BEYOND_TRAIT_AUC = 0.80  # …or above what one customer trait rarely reaches alone
FILL_GAP = 0.6
FILL_GAP_SOME = 0.3
MIN_CLASS = 10
SEQUENCE_RHO = 0.9
AFTER_SHARE = 0.8
AFTER_SHARE_SOME = 0.5
CONFOUND_SHIFT = 0.5
ASSIGNED_PERSON = "sales process: assigned person"


@dataclass(frozen=True)
class Flag:
    """One flagged column and the reason, in words."""

    column: str
    reason: str
    check: str  # separation | fill | identifier | after_outcome | sales_process | time_confound

    def to_dict(self) -> dict[str, str]:
        return {"column": self.column, "reason": self.reason, "check": self.check}


_EXPLAINS = (
    "identifier",
    "after_outcome",
    "sales_process",
    "sales_process_values",
    "fill",
    "separation",
)


@dataclass(frozen=True)
class Evidence:
    """One reason to suspect a column: which check found it, how strong, in words."""

    check: str  # separation | fill | identifier | after_outcome | sales_process[_values]
    strong: bool
    text: str


@dataclass(frozen=True)
class ColumnRisk:
    """The leakage risk of one candidate column and the evidence behind it.

    high: one strong piece of evidence, or two moderate ones from different checks (a status
    name *and* contact-result values; a rating name *and* a separation well above the other
    columns) — excluded unless ``discovery.allow`` lists it. medium: one moderate piece — kept
    and reported. low: nothing found.
    """

    column: str
    evidence: tuple[Evidence, ...]
    auc: float | None = None

    @property
    def level(self) -> str:
        if any(e.strong for e in self.evidence):
            return "high"
        if len({e.check for e in self.evidence}) >= 2:
            return "high"
        return "medium" if self.evidence else "low"

    def ordered(self) -> list[Evidence]:
        """What explains the column (a sequence, a late date, sales-process words) before what
        only shows that it is too close to the outcome (a fill gap, a separation)."""
        return sorted(self.evidence, key=lambda e: (_EXPLAINS.index(e.check), not e.strong))

    @property
    def reason(self) -> str:
        return "; ".join(e.text for e in self.ordered())

    @property
    def check(self) -> str:
        ordered = self.ordered()
        return ordered[0].check if ordered else ""

    def flag(self) -> Flag:
        return Flag(self.column, self.reason, self.check)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "risk": self.level,
            "reasons": [e.text for e in self.ordered()],
            "auc": None if self.auc is None else round(self.auc, 3),
        }


def _fill(column: pl.Series, y: np.ndarray) -> Evidence | None:
    """Missingness that differs by outcome: filled mostly for one class."""
    filled = column.is_not_null().to_numpy()
    if isinstance(column.dtype, pl.List):
        filled = filled & (column.list.len().fill_null(0).to_numpy() > 0)
    pos, neg = float(filled[y == 1].mean()), float(filled[y == 0].mean())
    gap = abs(pos - neg)
    text = (
        f"filled mostly for one outcome ({pos:.0%} of successes vs {neg:.0%} of the others): "
        "probably recorded during or after the sale"
    )
    if gap >= FILL_GAP:
        return Evidence("fill", True, text)
    if gap >= FILL_GAP_SOME and min(pos, neg) <= 0.5 * max(pos, neg):
        return Evidence("fill", False, text.replace("mostly", "more often"))
    return None


def _whole_numbers(column: pl.Series) -> np.ndarray | None:
    """The column's numbers (or the digits inside its codes) when whole; None otherwise."""
    if column.dtype == pl.Boolean:
        return None
    if column.dtype.is_numeric():
        values = column.cast(pl.Float64).to_numpy()
    elif column.dtype in (pl.Utf8, pl.Categorical):
        digits = column.cast(pl.Utf8).str.extract(r"(\d{2,})$", 1).cast(pl.Float64, strict=False)
        if digits.null_count() > 0.1 * len(digits):
            return None
        values = digits.to_numpy()
    else:
        return None
    filled = values[~np.isnan(values)]
    if len(filled) < 20 or not bool(np.all(filled % 1 == 0)):
        return None
    return values


def _sequence(column: pl.Series, order: np.ndarray | None, order_name: str) -> str | None:
    """Why a column is an identifier or sequence number, or None.

    By cardinality (unique per row) and by its relation to the records' creation order — never
    by the order of the file's rows, which a sort or a shuffle changes.
    """
    code = None
    if column.dtype in (pl.Utf8, pl.Categorical) and column.len() >= 50:
        text = column.drop_nulls()
        if text.n_unique() >= 0.9 * max(len(text), 1) and len(text) >= 0.5 * column.len():
            code = "an identifier (a code unique to nearly every row)"
    values = _whole_numbers(column)
    if values is None:
        return code
    filled = ~np.isnan(values)
    distinct = len(np.unique(values[filled]))
    if distinct < 0.95 * filled.sum():
        return code
    span = float(values[filled].max() - values[filled].min()) + 1
    if span <= 1.5 * distinct and column.dtype.is_numeric():
        return "an identifier or sequence number (whole numbers, unique per row, consecutive)"
    if order is not None:
        both = filled & ~np.isnan(order)
        if both.sum() >= 20:
            rho = spearmanr(values[both], order[both]).statistic
            if math.isfinite(rho) and abs(rho) >= SEQUENCE_RHO:
                return f"a sequence number (unique per row, rising with {order_name})"
    return code


def _creation_order(
    accounts: pl.DataFrame, created: pl.Series | None
) -> tuple[np.ndarray | None, str]:
    """Each row's creation order: the creation date, else the numeric order of the account id."""
    if created is not None and created.null_count() < 0.5 * len(created):
        days = created.cast(pl.Date).cast(pl.Int64).cast(pl.Float64).to_numpy()
        if np.nanmax(days) > np.nanmin(days):  # one date for every record says no order
            return days, "the record's creation date"
    if "account_id" in accounts.columns:
        ids = accounts["account_id"].cast(pl.Utf8).str.extract(r"(\d+)\D*$", 1)
        numbers = ids.cast(pl.Float64, strict=False)
        if numbers.null_count() < 0.1 * len(numbers) and numbers.n_unique() > 0.95 * len(numbers):
            return numbers.to_numpy(), "the account id's number"
    return None, ""


def _after_outcome(column: pl.Series, closed: pl.Series | None) -> Evidence | None:
    """A date later than the account's first closed deal for most accounts."""
    if closed is None or not column.dtype.is_temporal():
        return None
    dates = column.cast(pl.Date)
    both = dates.is_not_null() & closed.is_not_null()
    if int(both.sum()) < MIN_CLASS:
        return None
    share = float((dates.filter(both) > closed.filter(both)).mean())  # type: ignore[arg-type]
    text = (
        f"recorded after the outcome (later than the first closed deal for {share:.0%} of accounts)"
    )
    if share >= AFTER_SHARE:
        return Evidence("after_outcome", True, text)
    if share >= AFTER_SHARE_SOME:
        return Evidence("after_outcome", False, text)
    return None


def _by_words(column: pl.Series, vocab: Vocabulary) -> list[Evidence]:
    """Sales-process evidence from the column's name and values."""
    found = []
    kind = vocab.name_kind(column.name)
    text_like = column.dtype in (pl.Utf8, pl.Categorical) or isinstance(column.dtype, pl.Enum)
    if kind == "assigned_person":
        distinct = column.drop_nulls().n_unique()
        few = 2 <= distinct <= max(200, 0.1 * column.len())
        if few and (text_like or (column.dtype.is_integer() and distinct <= 0.05 * column.len())):
            found.append(
                Evidence(
                    "sales_process",
                    True,
                    f"{ASSIGNED_PERSON} (who a record is assigned to is not a customer trait)",
                )
            )
            return found
    elif kind is not None:
        found.append(
            Evidence("sales_process", False, f"sales process by its name: {NAME_KINDS[kind]}")
        )
    share, _ = vocab.value_share(column)
    if share >= VALUE_SHARE:
        found.append(
            Evidence(
                "sales_process_values",
                False,
                f"sales process by its values: {share:.0%} of them read as a contact attempt "
                "or its result",
            )
        )
    return found


def _separation(auc: float, median: float | None, z: float | None) -> Evidence | None:
    above = "" if median is None else f"; the other columns' median {median:.2f}"
    if auc >= SEPARATION_AUC:
        return Evidence(
            "separation",
            True,
            f"separates the outcome almost perfectly on its own (held-out AUC {auc:.2f}): "
            "probably recorded during or after the sale, or the outcome under another name",
        )
    if median is None or z is None:
        median, z = None, 0.0
    if median is not None and auc >= OUTLIER_AUC and z >= OUTLIER_Z and auc - median >= OUTLIER_GAP:
        return Evidence(
            "separation",
            True,
            f"separates the outcome far better than the other columns (held-out AUC {auc:.2f}"
            f"{above}): too good for a customer trait",
        )
    if auc >= ABOVE_AUC and z >= ABOVE_Z:
        return Evidence(
            "separation",
            False,
            f"separates the outcome well above the other columns (held-out AUC {auc:.2f}{above})",
        )
    if auc >= BEYOND_TRAIT_AUC:
        return Evidence(
            "separation",
            False,
            f"separates the outcome better than a single customer trait usually does (held-out "
            f"AUC {auc:.2f}{above})",
        )
    return None


def assess_columns(
    accounts: pl.DataFrame,
    columns: Sequence[str],
    outcomes: Sequence[np.ndarray],
    *,
    created: pl.Series | None = None,
    first_closed: pl.Series | None = None,
    vocab: Vocabulary | None = None,
) -> list[ColumnRisk]:
    """The leakage risk of every column in ``columns``, with its evidence.

    Parameters
    ----------
    accounts : the accounts table (its ``account_id`` fixes each row's fold).
    columns : candidate attribute columns (already free of ids, names, personal data).
    outcomes : one or more outcomes aligned with ``accounts`` rows: 1, 0, or NaN (unknown), e.g.
        best-vs-rest and won-vs-lost; the separation of the most separated one counts.
    created : the record's creation date per account (for sequence numbers), if known.
    first_closed : the date of each account's first closed deal (for late dates), if known.
    vocab : the sales-process vocabulary (default: the built-in one).
    """
    vocab = vocab or vocabulary()
    order, order_name = _creation_order(accounts, created)
    series = {n: _nan_free(accounts.get_column(n)) for n in columns}
    evidence, best_auc = _outcome_evidence(series, outcomes, folds_of(row_keys(accounts)))
    risks = []
    for name, column in series.items():
        found = evidence[name]
        sequence = _sequence(column, order, order_name)
        if sequence is not None:
            found.append(Evidence("identifier", True, sequence))
        after = _after_outcome(column, first_closed)
        if after is not None:
            found.append(after)
        found.extend(_by_words(column, vocab))
        risks.append(ColumnRisk(name, tuple(found), best_auc.get(name)))
    return risks


def _keep_stronger(found: list[Evidence], new: Evidence | None) -> None:
    """Add ``new`` unless the same check already has evidence at least as strong."""
    if new is None:
        return
    same = [e for e in found if e.check == new.check]
    if same and same[0].strong >= new.strong:
        return
    found[:] = [e for e in found if e.check != new.check] + [new]


def _outcome_evidence(
    series: dict[str, pl.Series], outcomes: Sequence[np.ndarray], fold: np.ndarray
) -> tuple[dict[str, list[Evidence]], dict[str, float]]:
    """Fill-gap and separation evidence per column, the strongest over the outcomes, and each
    column's best held-out AUC."""
    evidence: dict[str, list[Evidence]] = {n: [] for n in series}
    best_auc: dict[str, float] = {}
    for outcome in outcomes:
        known = ~np.isnan(outcome)
        y = outcome[known].astype(np.int8)
        if y.sum() < MIN_CLASS or (len(y) - y.sum()) < MIN_CLASS:
            continue
        mask = pl.Series(known)
        aucs = {}
        for name, column in series.items():
            part = column.filter(mask)
            auc = held_out_auc(part, y, fold[known])
            if auc is not None:
                aucs[name] = auc
                best_auc[name] = max(auc, best_auc.get(name, 0.0))
            _keep_stronger(evidence[name], _fill(part, y))
        ranks = standing(aucs)
        for name, auc in aucs.items():
            median, z = ranks.get(name, (None, None))
            _keep_stronger(evidence[name], _separation(auc, median, z))
    return evidence, best_auc


def _nan_free(column: pl.Series) -> pl.Series:
    return column.fill_nan(None) if column.dtype.is_float() else column


def guard_columns(
    accounts: pl.DataFrame,
    columns: Sequence[str],
    outcomes: Sequence[np.ndarray],
    *,
    created: pl.Series | None = None,
    first_closed: pl.Series | None = None,
    vocab: Vocabulary | None = None,
) -> list[Flag]:
    """The high-risk columns among ``columns`` (see :func:`assess_columns`), with their reason."""
    risks = assess_columns(
        accounts, columns, outcomes, created=created, first_closed=first_closed, vocab=vocab
    )
    return [r.flag() for r in risks if r.level == "high"]


def time_confounds(
    accounts: pl.DataFrame, columns: Sequence[str], created: pl.Series | None
) -> list[Flag]:
    """Attributes whose values or fill rate shift strongly with the record's creation date.

    The records are split at the median creation date; a column is reported when its fill rate
    differs by ≥ ``CONFOUND_SHIFT`` between the halves, or when a level (or the numeric median
    bin) makes up ≥ ``CONFOUND_SHIFT`` more of one half than of the other.
    """
    if created is None or created.null_count() > 0.5 * len(created) or len(created) < 40:
        return []
    days = created.cast(pl.Int64)
    cut = days.median()
    if cut is None:
        return []
    late = (days > cut).fill_null(False).to_numpy()
    early = (days <= cut).fill_null(False).to_numpy()
    if late.sum() < 20 or early.sum() < 20:
        return []
    found = []
    for name in columns:
        column = accounts.get_column(name)
        if isinstance(column.dtype, pl.List) or column.dtype.is_temporal():
            continue
        filled = column.is_not_null().to_numpy()
        fill_early, fill_late = filled[early].mean(), filled[late].mean()
        if abs(fill_late - fill_early) >= CONFOUND_SHIFT:
            found.append(
                Flag(
                    name,
                    f"filled for {fill_early:.0%} of the older records and {fill_late:.0%} of the "
                    "newer ones: collected only part of the time, so its traits may describe "
                    "when a record was made rather than who the customer is",
                    "time_confound",
                )
            )
            continue
        if column.dtype.is_numeric() and column.n_unique() > 10:
            median = column.median()
            if median is None:
                continue
            high = (column > median).fill_null(False).to_numpy()
            shift = abs(high[late & filled].mean() - high[early & filled].mean())
        else:
            text = column.cast(pl.Utf8).to_numpy()
            shift = 0.0
            for level in column.drop_nulls().cast(pl.Utf8).unique().head(50).to_list():
                hit = text == level
                shift = max(shift, abs(hit[late & filled].mean() - hit[early & filled].mean()))
        if shift >= CONFOUND_SHIFT:
            found.append(
                Flag(
                    name,
                    f"its values shift strongly with the record's creation date ({shift:.0%} of "
                    "records move between the older and newer half): a data-window artefact "
                    "may look like a customer trait",
                    "time_confound",
                )
            )
    return found


_CREATED_NAME = re.compile(
    r"creat|sign_?up|registered|first_seen|date_added|added_on|lead_date|inquiry_date", re.I
)


def record_dates(
    accounts: pl.DataFrame, deals: pl.DataFrame | None
) -> tuple[pl.Series | None, pl.Series | None]:
    """(creation date, first closed-deal date) per account row, each None when unknown.

    The creation date is an accounts date column named like 'created', 'signup', 'date added', or
    else the creation of the account's first deal.
    """
    created = None
    for name, dtype in accounts.schema.items():
        if dtype.is_temporal() and _CREATED_NAME.search(name):
            created = accounts[name].cast(pl.Date)
            break
    first_closed = None
    if deals is not None and {"account_id", "stage", "closed_at"} <= set(deals.columns):
        per = (
            deals.filter(pl.col("stage").is_in(["won", "lost"]))
            .group_by("account_id")
            .agg(pl.col("closed_at").min().alias("first_closed"), pl.col("created_at").min())
        )
        joined = accounts.select("account_id").join(
            per, on="account_id", how="left", maintain_order="left"
        )
        first_closed = joined["first_closed"]
        if created is None and joined["created_at"].null_count() < len(joined):
            created = joined["created_at"]
    return created, first_closed


def won_outcome(accounts: pl.DataFrame, deals: pl.DataFrame | None) -> np.ndarray | None:
    """1 for an account with a won deal, 0 with closed deals and no win, NaN otherwise."""
    if deals is None or not {"account_id", "stage"} <= set(deals.columns):
        return None
    per = (
        deals.filter(pl.col("stage").is_in(["won", "lost"]))
        .group_by("account_id")
        .agg((pl.col("stage") == "won").any().cast(pl.Float64).alias("won"))
    )
    joined = accounts.select("account_id").join(
        per, on="account_id", how="left", maintain_order="left"
    )
    return joined["won"].fill_null(float("nan")).to_numpy()


@dataclass(frozen=True)
class Screening:
    """The attribute choice of one build: what is used, what is left out and why, what to warn.

    ``settings`` is the discovery config with the guard's flagged columns added to ``exclude``
    (those not re-admitted by ``discovery.allow``): pass it to discovery and to the scorecard.
    """

    choice: AttributeChoice
    flags: tuple[Flag, ...]
    confounds: tuple[Flag, ...]
    settings: DiscoveryConfig
    risks: tuple[ColumnRisk, ...] = ()

    def watched(self) -> list[ColumnRisk]:
        """Medium-risk columns: kept, with one piece of evidence a user should look at."""
        return [r for r in self.risks if r.level == "medium" and r.column in self.choice.columns]

    def excluded(self) -> list[dict[str, str]]:
        """{column, reason} for every column a user would miss (personal data, dates, guard)."""
        return [{"column": e.column, "reason": e.reason} for e in self.choice.reported()]

    def caveats(self) -> list[str]:
        """Sentences for the profile's caveats and the build output."""
        out = []
        guarded = [e for e in self.choice.excluded if e.code in {"guard", "pii"}]
        if guarded:
            listing = "; ".join(f"{e.column} ({e.reason})" for e in guarded[:12])
            more = f"; and {len(guarded) - 12} more" if len(guarded) > 12 else ""
            out.append(
                f"Columns left out of the ICP: {listing}{more}. List a column in "
                "discovery.allow to use it anyway."
            )
        watched = self.watched()
        if watched:
            listing = "; ".join(f"{r.column} ({r.reason})" for r in watched[:8])
            more = f"; and {len(watched) - 8} more" if len(watched) > 8 else ""
            out.append(
                f"Kept, but possibly sales process or leakage (medium risk): {listing}{more}. "
                "List a column in discovery.exclude to leave it out."
            )
        for flag in self.confounds:
            out.append(f"Time confound: {flag.column} is {flag.reason}.")
        return out

    def problems(self, file: str) -> list[Problem]:
        """The same as warnings for ``icpkit check``."""
        out = [
            Problem(
                file=file,
                column=e.column,
                severity="warning",
                code="leakage" if e.code == "guard" else e.code,
                message=f"left out of the ICP: {e.reason} (discovery.allow re-admits it)",
            )
            for e in self.choice.excluded
            if e.code == "guard"
        ]
        out += [
            Problem(
                file=file,
                column=r.column,
                severity="warning",
                code="leakage_risk",
                message=f"kept, medium leakage risk: {r.reason} (discovery.exclude leaves it out)",
            )
            for r in self.watched()
        ]
        out += [
            Problem(
                file=file,
                column=f.column,
                severity="warning",
                code="time_confound",
                message=f"{f.reason}",
            )
            for f in self.confounds
        ]
        return out


def _people_first(
    choice: AttributeChoice, vocab: Vocabulary
) -> tuple[AttributeChoice, list[ColumnRisk]]:
    """Person names in a column named like an owner or account manager: the sales process's
    assignment first (people are never customer traits), personal data as well."""
    excluded, people = [], []
    for e in choice.excluded:
        by_person = e.code == "pii" and not re.search(r"e-mail|phone", e.reason)
        if by_person and vocab.name_kind(e.column) == "assigned_person":
            text = f"{ASSIGNED_PERSON} (who a record is assigned to is not a customer trait)"
            people.append(ColumnRisk(e.column, (Evidence("sales_process", True, text),)))
            e = Exclusion(e.column, f"{text}; {e.reason}", "guard")
        excluded.append(e)
    return AttributeChoice(choice.columns, tuple(excluded)), people


def screen_attributes(
    accounts: pl.DataFrame,
    deals: pl.DataFrame | None,
    labels: np.ndarray,
    settings: DiscoveryConfig,
) -> Screening:
    """Choose the attributes of a build: personal data, dates, leakage, identifiers, confounds.

    ``labels`` are the best/worst/rest/unranked labels of ``accounts`` rows; with deals, the
    won-vs-lost outcome of each account is guarded as well.
    """
    labels = np.asarray(labels).astype(str)
    candidates = choose_attributes(accounts, settings).columns
    best = np.where(labels == "unranked", np.nan, (labels == "best").astype(float))
    outcomes = [best]
    won = won_outcome(accounts, deals)
    if won is not None:
        outcomes.append(won)
    created, first_closed = record_dates(accounts, deals)
    schema = accounts.schema
    dated = [c for c in accounts.columns if schema[c].is_temporal()]
    vocab = vocabulary(tuple(settings.sales_process_names), tuple(settings.sales_process_values))
    risks = assess_columns(
        accounts,
        [*candidates, *dated],
        outcomes,
        created=created,
        first_closed=first_closed,
        vocab=vocab,
    )
    flags = [r.flag() for r in risks if r.level == "high"]
    flagged = {f.column: f.reason for f in flags}
    choice, people = _people_first(choose_attributes(accounts, settings, flagged), vocab)
    risks += people
    allowed = set(settings.allow)
    exclude = [*settings.exclude, *(c for c in flagged if c not in allowed)]
    confounds = time_confounds(accounts, choice.columns, created)
    return Screening(
        choice=choice,
        flags=tuple(flags),
        confounds=tuple(confounds),
        settings=settings.model_copy(update={"exclude": list(dict.fromkeys(exclude))}),
        risks=tuple(risks),
    )
