"""The behaviour clause of the one-pager, from evidence only.

For each behavioural threshold that discovery found significant (its single-trait row, BH
q-value below ``alpha``), the outcome it moves is measured directly: among customers (a won deal
and a subscription), the share that renewed (never churned) with vs without the trait; among
closed accounts, the share that converted (won). The larger of the two effects is said:
"customers who connect 2+ integrations in the first 30 days renew at 2.4× the rate". A trait
whose effect is not measurable (too few accounts on one side) says nothing.
"""

from __future__ import annotations

import math

import polars as pl

from icpkit.data.model import CrmData
from icpkit.discovery.behaviour import behaviour_words
from icpkit.profile import BehaviourTrait, SingleTrait
from icpkit.rules import parse_segment

MIN_SIDE = 20  # accounts needed on each side of a trait before its rate is compared


def outcome_flags(crm: CrmData) -> pl.DataFrame:
    """Per account: ``converted`` (won, among closed) and ``renewed`` (not churned, among
    customers with a subscription); null where the outcome does not apply."""
    ids = crm.accounts.select(pl.col("account_id").cast(pl.Utf8))
    out = ids
    if crm.deals is not None:
        closed = (
            crm.deals.filter(pl.col("stage").is_in(["won", "lost"]))
            .group_by("account_id")
            .agg((pl.col("stage") == "won").any().alias("converted"))
        )
        out = out.join(closed, on="account_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Boolean).alias("converted"))
    if crm.subscriptions is not None:
        subs = crm.subscriptions.group_by("account_id").agg(
            pl.col("end").is_null().any().alias("renewed")
        )
        out = out.join(subs, on="account_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Boolean).alias("renewed"))
    return out


def behaviour_traits(
    crm: CrmData, traits: list[SingleTrait], alpha: float, early_days: int = 30
) -> list[BehaviourTrait]:
    """The measured effect of each significant behavioural threshold (see the module docstring)."""
    flags = outcome_flags(crm)
    frame = crm.accounts.select(
        pl.col("account_id").cast(pl.Utf8),
        *[c for c in crm.accounts.columns if c.startswith("usage_")],
    ).join(flags, on="account_id", how="left")
    found: list[BehaviourTrait] = []
    for trait in traits:
        if not trait.attribute.startswith("usage_") or trait.kind != "threshold":
            continue
        if trait.q_best is None or trait.q_best >= alpha:
            continue
        condition = parse_segment(trait.rule).conditions[0] if trait.rule else None
        if condition is None:
            continue
        words = behaviour_words(condition, plural=True, early_days=early_days)
        if words is None:
            continue
        mask = parse_segment(trait.rule).mask(frame)
        best: BehaviourTrait | None = None
        for outcome, column, verb in (
            ("renew", "renewed", "renew"),
            ("convert", "converted", "convert"),
        ):
            known = frame[column].is_not_null().to_numpy()
            values = frame[column].fill_null(False).to_numpy()
            with_ = known & mask
            without = known & ~mask
            n_w, n_wo = int(with_.sum()), int(without.sum())
            if n_w < MIN_SIDE or n_wo < MIN_SIDE:
                continue
            r_w, r_wo = float(values[with_].mean()), float(values[without].mean())
            if r_wo <= 0:
                continue
            ratio = r_w / r_wo
            who = "customers" if outcome == "renew" else "accounts"
            sentence = (
                f"{who} that {words} {verb} at {ratio:.1f}× the rate ({r_w:.0%} vs {r_wo:.0%})"
            )
            candidate = BehaviourTrait(
                rule=trait.rule,
                words=words,
                outcome=outcome,
                rate_with=r_w,
                rate_without=r_wo,
                ratio=ratio,
                n_with=n_w,
                n_without=n_wo,
                q_value=trait.q_best,
                sentence=sentence[0].upper() + sentence[1:],
            )
            if best is None or abs(math.log(ratio)) > abs(math.log(best.ratio or 1)):
                best = candidate
        if best is not None and best.ratio > 0 and abs(math.log(best.ratio)) >= math.log(1.2):
            found.append(best)
    found.sort(key=lambda b: -abs(math.log(b.ratio)))
    return found


def behaviour_clause(traits: list[BehaviourTrait], limit: int = 2) -> str:
    """The statement's behaviour sentence (empty without evidence)."""
    rising = [t for t in traits if t.ratio > 1][:limit]
    if not rising:
        return ""
    return "Behaviour: " + "; ".join(t.sentence[0].lower() + t.sentence[1:] for t in rising) + "."
