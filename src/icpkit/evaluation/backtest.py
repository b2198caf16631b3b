"""The out-of-time cut of a backtest: what was known before a date, and what happened after.

``split_at`` keeps in ``before`` only what was known on the cut date (no leakage: a deal that closed
after the cut is still open in ``before``; a subscription that ended after the cut is still
active). An ICP is built on ``before`` and measured on ``after`` by
:func:`icpkit.evaluation.validation.evaluate`.
"""

from __future__ import annotations

import math
from datetime import date

import polars as pl

from icpkit.data.asof import CLOSED, deals_as_known_at
from icpkit.data.model import CrmData
from icpkit.errors import InsufficientDataError


def default_cut_date(deals: pl.DataFrame | None, holdout_share: float = 0.25) -> date:
    """The date that leaves the last ``holdout_share`` of closed deals after it.

    Closed deals are ordered by ``created_at`` (the evaluation set is the deals *created* on or
    after the cut); ``closed_at`` is used when the deals have no creation date.

    Raises
    ------
    InsufficientDataError
        When there are fewer than 10 dated closed deals.
    """
    if deals is None or deals.height == 0:
        raise InsufficientDataError("a backtest needs a deals table; none was loaded")
    column = "created_at" if "created_at" in deals.columns else "closed_at"
    if column not in deals.columns:
        raise InsufficientDataError(
            "a backtest needs deal dates (created_at or closed_at); found none"
        )
    dates = (
        deals.filter(pl.col("stage").cast(pl.Utf8).str.to_lowercase().is_in(CLOSED))
        .get_column(column)
        .drop_nulls()
        .sort()
    )
    if dates.len() < 10:
        raise InsufficientDataError(
            f"a backtest needs at least 10 closed deals with {column}; found {dates.len()}"
        )
    position = min(dates.len() - 1, math.floor(dates.len() * (1.0 - holdout_share)))
    cut = dates[position]
    if cut == dates[0]:  # every deal on one day: no history before it to build from
        raise InsufficientDataError(f"closed deals span a single {column} ({cut}); cannot cut")
    return cut


def split_at(crm: CrmData, cut: date) -> tuple[CrmData, CrmData]:
    """Split a CRM into what was known before ``cut`` and what happened from ``cut`` on.

    ``before``: deals created before the cut (those closed on/after it turn back into open deals
    with no close date or amount, since the close value is an outcome); subscriptions started
    before the cut, with an end on/after it erased (still active then); notes and signals dated
    before the cut; contacts of those deals or of no deal. ``after``: deals created on/after the
    cut (the evaluation set), subscriptions started on/after it (new customers' LTV and churn),
    notes and signals dated on/after it. Accounts are kept whole in both (their attributes are a
    snapshot). Rows without the date that places them are left out of both.

    Raises
    ------
    InsufficientDataError
        When there are no deals, or the deals have no ``created_at``.
    """
    deals = crm.deals
    if deals is None or "created_at" not in deals.columns:
        raise InsufficientDataError("a backtest needs a deals table with created_at dates")
    deals_before = deals_as_known_at(deals.filter(pl.col("created_at") < cut), cut)
    deals_after = deals.filter(pl.col("created_at") >= cut)
    before = CrmData(
        accounts=crm.accounts,
        deals=deals_before,
        subscriptions=_subscriptions_before(crm.subscriptions, cut),
        contacts=_contacts_of(crm.contacts, deals_before),
        notes=_dated(crm.notes, "date", cut, before=True),
        signals=_dated(crm.signals, "date", cut, before=True),
        problems=list(crm.problems),
        sources=dict(crm.sources),
    )
    subs_after = crm.subscriptions
    if subs_after is not None and "start" in subs_after.columns:
        subs_after = subs_after.filter(pl.col("start") >= cut)
    after = CrmData(
        accounts=crm.accounts,
        deals=deals_after,
        subscriptions=subs_after,
        contacts=_contacts_of(crm.contacts, deals_after),
        notes=_dated(crm.notes, "date", cut, before=False),
        signals=_dated(crm.signals, "date", cut, before=False),
        problems=list(crm.problems),
        sources=dict(crm.sources),
    )
    return before, after


def _subscriptions_before(subs: pl.DataFrame | None, cut: date) -> pl.DataFrame | None:
    if subs is None or "start" not in subs.columns:
        return subs
    kept = subs.filter(pl.col("start") < cut)
    if "end" in kept.columns:
        kept = kept.with_columns(
            pl.when(pl.col("end") >= cut).then(None).otherwise(pl.col("end")).alias("end")
        )
    return kept


def _dated(
    frame: pl.DataFrame | None, column: str, cut: date, *, before: bool
) -> pl.DataFrame | None:
    if frame is None or column not in frame.columns:
        return frame if frame is None or not before else frame.clear()
    return frame.filter(pl.col(column) < cut if before else pl.col(column) >= cut)


def _contacts_of(contacts: pl.DataFrame | None, deals: pl.DataFrame) -> pl.DataFrame | None:
    if contacts is None or "deal_id" not in contacts.columns or "deal_id" not in deals.columns:
        return contacts
    of_deals = contacts.join(deals.select("deal_id").unique(), on="deal_id", how="semi")
    return pl.concat([contacts.filter(pl.col("deal_id").is_null()), of_deals])


def stratified_folds(keys: pl.Series, positive: pl.Series, k: int, seed: int = 0) -> pl.Series:
    """A fold number (0 … k-1) per row, stratified by ``positive`` and fixed by the keys.

    Within each class the rows are ordered by a seeded hash of their key (ties by the key) and
    dealt round-robin, so the same account lands in the same fold whatever the order of the rows.
    """
    frame = pl.DataFrame(
        {
            "_key": keys.cast(pl.Utf8),
            "_pos": positive.cast(pl.Boolean),
        }
    ).with_row_index("_row")
    frame = frame.with_columns(pl.col("_key").hash(seed=seed).alias("_hash"))
    frame = frame.sort(["_pos", "_hash", "_key"]).with_columns(
        (pl.int_range(pl.len()).over("_pos") % k).cast(pl.Int32).alias("_fold")
    )
    return frame.sort("_row")["_fold"]
