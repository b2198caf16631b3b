"""The leakage and identifier guard: columns that would give a confident ICP the data does not support.

Run before discovery and scoring, on the candidate attribute columns and the outcome. A column is
flagged when it

(a) **separates the outcome almost perfectly** on its own (AUC ≥ ``SEPARATION_AUC`` of its values,
    or of its levels' smoothed outcome rates, with enough rows of each class): a field filled in
    during or after the sale (a status tag, a quality grade, the outcome itself under another name);
(b) **is filled mostly for one outcome class** (fill rates ≥ ``FILL_GAP`` apart): firmographics
    joined only for the accounts that won;
(c) **is an identifier or sequence number**: whole numbers unique per row that are dense (1, 2, 3 …),
    or follow the file's row order or the records' creation dates;
(d) **was recorded after the outcome** when dates say so: a date column later than the account's
    first closed deal for most accounts.

Flagged columns are excluded by default (``choose_attributes(flagged=…)``), listed by ``icpkit
check`` and ``build`` and stored on the profile with their reason; ``discovery.allow`` re-admits
one. The time-confound check warns (does not exclude) when an attribute's values or fill rate
shift strongly with the record's creation date: a field collected only in recent months looks
like a trait of recent — not better — customers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import rankdata, spearmanr

from icpkit.config import DiscoveryConfig
from icpkit.data.attributes import AttributeChoice, choose_attributes
from icpkit.errors import Problem

SEPARATION_AUC = 0.97
FILL_GAP = 0.6
MIN_CLASS = 10
SEQUENCE_RHO = 0.9
AFTER_SHARE = 0.8
CONFOUND_SHIFT = 0.5
_SEQUENCE_NAME = re.compile(r"(^|_)(number|no|nr|num|seq|sequence|index|idx|row|serial|ref|code)$")


@dataclass(frozen=True)
class Flag:
    """One flagged column and the reason, in words."""

    column: str
    reason: str
    check: str  # separation | fill | identifier | after_outcome

    def to_dict(self) -> dict[str, str]:
        return {"column": self.column, "reason": self.reason, "check": self.check}


def _auc(scores: np.ndarray, y: np.ndarray) -> float | None:
    """Mann–Whitney AUC (ties count half); None without both classes."""
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _level_scores(column: pl.Series, y: np.ndarray) -> np.ndarray:
    """Each row's level outcome rate without the row itself (leave-one-out), smoothed towards
    the base rate: a level seen once says nothing, so many-level columns cannot fake a separation."""
    base = float(y.mean())
    frame = pl.DataFrame({"level": column.cast(pl.Utf8).fill_null("\x00missing"), "y": y})
    frame = frame.with_columns(
        pl.col("y").sum().over("level").alias("pos"), pl.len().over("level").alias("n")
    )
    rate = (pl.col("pos") - pl.col("y") + 2 * base) / (pl.col("n") - 1 + 2)
    return frame.select(rate.alias("rate"))["rate"].to_numpy()


def _separation(column: pl.Series, y: np.ndarray) -> float | None:
    """AUC (folded to ≥ 0.5) of the column alone, filled rows only for numbers."""
    dtype = column.dtype
    if isinstance(dtype, pl.List) or dtype.is_temporal():
        return None
    if dtype.is_numeric() and column.n_unique() > 10:
        filled = column.is_not_null().to_numpy()
        values = column.cast(pl.Float64).to_numpy()[filled]
        target = y[filled]
        if target.sum() < MIN_CLASS or (len(target) - target.sum()) < MIN_CLASS:
            return None
        auc = _auc(values, target)
    else:
        auc = _auc(_level_scores(column, y), y)
    return None if auc is None else max(auc, 1 - auc)


def _fill_gap(column: pl.Series, y: np.ndarray) -> tuple[float, float] | None:
    filled = column.is_not_null().to_numpy()
    if isinstance(column.dtype, pl.List):
        filled = filled & (column.list.len().fill_null(0).to_numpy() > 0)
    pos, neg = filled[y == 1].mean(), filled[y == 0].mean()
    return (float(pos), float(neg)) if abs(pos - neg) >= FILL_GAP else None


def _sequence(column: pl.Series, created: pl.Series | None) -> str | None:
    """Why a numeric column is an identifier or sequence number, or None."""
    if not column.dtype.is_numeric() or column.dtype == pl.Boolean:
        return None
    values = column.drop_nulls().cast(pl.Float64)
    if len(values) < 20 or not bool((values % 1 == 0).all()):
        return None
    if values.n_unique() < 0.95 * len(values):
        return None
    span = float(values.max()) - float(values.min()) + 1  # type: ignore[arg-type]
    if span <= 1.5 * values.n_unique():
        return "an identifier or sequence number (whole numbers, unique per row, consecutive)"
    filled = column.is_not_null().to_numpy()
    numbers = column.cast(pl.Float64).to_numpy()[filled]
    order = np.arange(len(column))[filled]
    if _SEQUENCE_NAME.search(column.name.lower()):
        rho = spearmanr(numbers, order).statistic
        if math.isfinite(rho) and abs(rho) >= SEQUENCE_RHO:
            return "a sequence number (unique per row, in the order of the file's rows)"
    if created is not None:
        both = filled & created.is_not_null().to_numpy()
        if both.sum() >= 20:
            days = created.cast(pl.Int64).to_numpy()[both]
            rho = spearmanr(column.cast(pl.Float64).to_numpy()[both], days).statistic
            if math.isfinite(rho) and abs(rho) >= SEQUENCE_RHO:
                return "a sequence number (unique per row, rising with the creation date)"
    return None


def _after_outcome(column: pl.Series, closed: pl.Series | None) -> float | None:
    """Share of accounts whose date is after their first closed deal (None: cannot tell)."""
    if closed is None or not column.dtype.is_temporal():
        return None
    dates = column.cast(pl.Date)
    both = dates.is_not_null() & closed.is_not_null()
    if int(both.sum()) < MIN_CLASS:
        return None
    return float((dates.filter(both) > closed.filter(both)).mean())  # type: ignore[arg-type]


def guard_columns(
    accounts: pl.DataFrame,
    columns: Sequence[str],
    outcomes: Sequence[np.ndarray],
    *,
    created: pl.Series | None = None,
    first_closed: pl.Series | None = None,
) -> list[Flag]:
    """Flag the leaky, identifier and after-the-outcome columns among ``columns``.

    Parameters
    ----------
    accounts : the accounts table.
    columns : candidate attribute columns (already free of ids, names, personal data).
    outcomes : one or more outcomes aligned with ``accounts`` rows: 1, 0, or NaN (unknown), e.g.
        best-vs-rest and won-vs-lost; a column is flagged when it leaks any of them.
    created : the record's creation date per account (for sequence numbers), if known.
    first_closed : the date of each account's first closed deal (for check d), if known.
    """
    flags: list[Flag] = []
    for name in columns:
        column = accounts.get_column(name)
        if column.dtype.is_float():
            column = column.fill_nan(None)
        flag = _flag_one(name, column, outcomes, created, first_closed)
        if flag is not None:
            flags.append(flag)
    return flags


def _flag_one(
    name: str,
    column: pl.Series,
    outcomes: Sequence[np.ndarray],
    created: pl.Series | None,
    first_closed: pl.Series | None,
) -> Flag | None:
    sequence = _sequence(column, created)
    if sequence is not None:
        return Flag(name, sequence, "identifier")
    after = _after_outcome(column, first_closed)
    if after is not None and after >= AFTER_SHARE:
        return Flag(
            name,
            f"recorded after the outcome (later than the first closed deal for {after:.0%} "
            "of accounts)",
            "after_outcome",
        )
    for outcome in outcomes:
        known = ~np.isnan(outcome)
        y = outcome[known].astype(np.int8)
        if y.sum() < MIN_CLASS or (len(y) - y.sum()) < MIN_CLASS:
            continue
        part = column.filter(pl.Series(known))
        gap = _fill_gap(part, y)
        if gap is not None:
            return Flag(
                name,
                f"filled mostly for one outcome ({gap[0]:.0%} of successes vs {gap[1]:.0%} of "
                "the others): probably recorded during or after the sale",
                "fill",
            )
        auc = _separation(part, y)
        if auc is not None and auc >= SEPARATION_AUC:
            return Flag(
                name,
                f"separates the outcome almost perfectly on its own (AUC {auc:.2f}): probably "
                "recorded during or after the sale, or the outcome under another name",
                "separation",
            )
    return None


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
                column=f.column,
                severity="warning",
                code="time_confound",
                message=f"{f.reason}",
            )
            for f in self.confounds
        ]
        return out


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
    flags = guard_columns(
        accounts, [*candidates, *dated], outcomes, created=created, first_closed=first_closed
    )
    flagged = {f.column: f.reason for f in flags}
    choice = choose_attributes(accounts, settings, flagged)
    allowed = set(settings.allow)
    exclude = [*settings.exclude, *(c for c in flagged if c not in allowed)]
    confounds = time_confounds(accounts, choice.columns, created)
    return Screening(
        choice=choice,
        flags=tuple(flags),
        confounds=tuple(confounds),
        settings=settings.model_copy(update={"exclude": list(dict.fromkeys(exclude))}),
    )
