"""The leakage risk of each candidate column, from several kinds of evidence (see
:mod:`icpkit.data.guard` for the design and :func:`assess_columns` for the entry point)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import spearmanr

from icpkit.data.sales_process import NAME_KINDS, VALUE_SHARE, Vocabulary, vocabulary
from icpkit.data.separation import folds_of, held_out_auc, row_keys, standing

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
