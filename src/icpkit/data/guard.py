"""The leakage and identifier guard: columns that would give a confident ICP the data does not support.

Run before discovery and scoring on the candidate attribute columns. Every column gets a risk —
low, medium or high — from several kinds of evidence (:class:`Evidence`), strong or moderate
(computed in :mod:`icpkit.data.leakage`, which holds the thresholds named below):

(a) **separation**: its single-column held-out AUC (:mod:`icpkit.data.separation`: K-fold target
    encoding, folds by a hash of the account id) — strong when ≥ ``SEPARATION_AUC``, or when it
    stands far above the other columns' AUCs (robust z ≥ ``OUTLIER_Z`` against their median and
    spread, and AUC ≥ ``OUTLIER_AUC``); moderate when well above them (≥ ``ABOVE_AUC``, z ≥
    ``ABOVE_Z``) or above what one customer trait usually reaches (≥ ``BEYOND_TRAIT_AUC``);
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

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig
from icpkit.data.attributes import AttributeChoice, Exclusion, choose_attributes
from icpkit.data.leakage import (
    ASSIGNED_PERSON,
    ColumnRisk,
    Evidence,
    Flag,
    assess_columns,
    guard_columns,
)
from icpkit.data.sales_process import Vocabulary, vocabulary
from icpkit.errors import Problem

__all__ = [
    "ColumnRisk",
    "Flag",
    "Screening",
    "assess_columns",
    "guard_columns",
    "record_dates",
    "screen_attributes",
    "time_confounds",
    "won_outcome",
]

CONFOUND_SHIFT = 0.5


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
    return AttributeChoice(choice.columns, tuple(excluded), choice.grouped), people


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
