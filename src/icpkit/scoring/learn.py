"""Learn the scorecard and the tier cut-offs of a profile from labelled accounts (or deals).

Targets: ``best`` — best vs rest per account ('worst' counts as rest, 'unranked' is left out of
fitting); ``won`` — won vs lost per closed deal, each deal carrying its account's attributes.
The ICP criteria and disqualifiers join the attributes as met / not-met features, so the points
can reward the combinations discovery found and not only single attributes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig, ScoringConfig, TierConfig
from icpkit.data.attributes import choose_attributes
from icpkit.errors import ConfigError, InsufficientDataError
from icpkit.profile import RuleEvidence, ScoringTarget
from icpkit.rules import parse_segment
from icpkit.scoring.apply import ScoringPlan
from icpkit.scoring.binning import kind_of, rule_mask
from icpkit.scoring.card import Scorecard
from icpkit.scoring.scorecard import FitScorer
from icpkit.scoring.tiers import (
    TierCuts,
    assign_tiers,
    choose_cuts,
    madkudu_bar,
    tier_rules,
    tier_table,
)
from icpkit.vocab import LABELS, UNREACHABLE_CUT

MIN_PER_CLASS = 5


def scoring_attributes(
    accounts: pl.DataFrame, settings: DiscoveryConfig | None = None
) -> list[str]:
    """The attributes discovery uses too (:func:`icpkit.data.attributes.choose_attributes`: no
    ids, names, personal data, dates, free text; ``discovery.exclude``/``allow`` honoured), of a
    type the scorecard can bin."""
    choice = choose_attributes(accounts, settings)
    schema = accounts.schema
    return [c for c in choice.columns if kind_of(schema[c]) is not None]


# What each scorecard target means, in words: (short name for rates, what fit_probability is of).
TARGET_WORDS = {
    "won": ("won", "a closed deal of the account is won"),
    "best": ("best by success score", "the account is among the best customers by success score"),
}


def choose_target(configured: str | None, deals: pl.DataFrame | None) -> ScoringTarget:
    """The scorecard target and why: the configured one, or chosen from the data.

    Unset, the target is 'won' when the outcome is binary — a deals table with won and lost deals
    and no account with more than one closed deal (a lead list: converted or not) — since the
    numbers then mean what people read them as (conversion); else 'best'.
    """
    if configured is not None:
        why = "set in icpkit.toml (scoring.target)"
        return ScoringTarget(target=configured, chosen="config", why=why, **_words(configured))
    if deals is not None and {"stage", "account_id"} <= set(deals.columns):
        closed = deals.filter(pl.col("stage").is_in(["won", "lost"]))
        stages = set(closed["stage"].unique().to_list())
        per_account = closed.group_by("account_id").len()["len"].max() if closed.height else 0
        if stages == {"won", "lost"} and per_account == 1:
            why = (
                "the outcome is binary (one closed deal per account, won or lost), so the "
                "scorecard predicts winning itself"
            )
            return ScoringTarget(target="won", chosen="auto", why=why, **_words("won"))
    why = "accounts are ranked by a composite success score (no binary won/lost outcome)"
    return ScoringTarget(target="best", chosen="auto", why=why, **_words("best"))


def _words(target: str) -> dict[str, str]:
    name, means = TARGET_WORDS.get(target, TARGET_WORDS["best"])
    return {"name": name, "probability_of": means}


def _training_rows(
    accounts: pl.DataFrame, labels: np.ndarray, scoring: ScoringConfig, deals: pl.DataFrame | None
) -> tuple[pl.DataFrame, np.ndarray]:
    """Rows and 0/1 outcome the scorecard is fitted on, for the configured target."""
    if scoring.target in ("best", None):
        keep = labels != "unranked"
        return accounts.filter(pl.Series(keep)), (labels[keep] == "best").astype(np.int8)
    return _deal_rows(accounts, deals)


def _canonical_order(accounts: pl.DataFrame) -> np.ndarray | None:
    """Row positions sorted by account id: the fit (CV folds, solver sums) must not depend on the
    order of the file's rows. None when there is no account_id column."""
    if "account_id" not in accounts.columns:
        return None
    return np.argsort(accounts["account_id"].cast(pl.Utf8).to_numpy().astype(str), kind="stable")


def _deal_rows(
    accounts: pl.DataFrame, deals: pl.DataFrame | None
) -> tuple[pl.DataFrame, np.ndarray]:
    """Closed deals with their account's attributes (target 'won'), in a canonical order."""
    if deals is None or "stage" not in deals.columns or "account_id" not in deals.columns:
        raise ConfigError("scoring.target = 'won' needs a deals table with account_id and stage")
    closed = deals.filter(pl.col("stage").is_in(["won", "lost"])).select("account_id", "stage")
    joined = closed.join(accounts, on="account_id", how="inner").sort(
        pl.col("account_id").cast(pl.Utf8), "stage", maintain_order=True
    )
    y = (joined["stage"] == "won").to_numpy().astype(np.int8)
    return joined.select(accounts.columns), y


def _outcomes_per_account(
    accounts: pl.DataFrame, labels: np.ndarray, scoring: ScoringConfig, deals: pl.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Successes and trials per account for the historical success rate of each tier."""
    if scoring.target in ("best", None):
        return (labels == "best").astype(float), (labels != "unranked").astype(float)
    assert deals is not None
    per = (
        deals.filter(pl.col("stage").is_in(["won", "lost"]))
        .group_by("account_id")
        .agg(won=(pl.col("stage") == "won").sum(), closed=pl.len())
    )
    aligned = accounts.select("account_id").join(per, on="account_id", how="left")
    return (
        aligned["won"].fill_null(0).to_numpy().astype(float),
        aligned["closed"].fill_null(0).to_numpy().astype(float),
    )


def fit_scorecard_and_tiers(
    accounts: pl.DataFrame,
    labels: np.ndarray,
    criteria: Sequence[RuleEvidence],
    disqualifiers: Sequence[RuleEvidence],
    scoring: ScoringConfig,
    tiers: TierConfig,
    *,
    deals: pl.DataFrame | None = None,
    weight: np.ndarray | None = None,
    random_state: int | None = 0,
    segments: Sequence[str] | None = None,
    discovery: DiscoveryConfig | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the points scorecard and choose the tier cut-offs.

    Parameters
    ----------
    accounts : pl.DataFrame
        The accounts table (canonical columns plus any extra attributes).
    labels : ndarray of str
        'best' | 'worst' | 'rest' | 'unranked', aligned with ``accounts`` rows.
    criteria, disqualifiers : sequence of RuleEvidence
        The ICP's core criteria and disqualifiers (``.rule`` in rule text).
    scoring : ScoringConfig
        Target ('best' or 'won'), regularisation, bins.
    tiers : TierConfig
        Target shares of Tier 1, 2 and 3.
    deals : pl.DataFrame, optional
        Needed for target 'won' (one row per deal with account_id and stage).
    weight : ndarray, optional
        Per training row weight (e.g. deal value) for a value-weighted scorecard.
    segments : sequence of str, optional
        Rule texts of discovered segments (best first); up to ``scoring.interaction_segments``
        of them join the points as interaction features (see :func:`interaction_rules`).
    discovery : DiscoveryConfig, optional
        Its attribute choice (exclude, allow, attributes) applies to the scorecard too.

    Returns
    -------
    (scorecard_dict, tiers_dict), both JSON-safe, for ``IcpProfile.scorecard`` / ``.tiers``.
    """
    labels = np.asarray(labels).astype(str)
    if len(labels) != accounts.height:
        raise ConfigError(f"labels: {len(labels)} values for {accounts.height} accounts")
    unknown = sorted(set(np.unique(labels)) - set(LABELS))
    if unknown:
        raise ConfigError(f"labels: unknown values {unknown[:5]} (expected one of {LABELS})")
    attributes = scoring_attributes(accounts, discovery)
    if not attributes:
        raise InsufficientDataError(
            "no attribute to score accounts on: every attribute column is empty, or an id, "
            "name, domain or free text; add firmographic columns (industry, employees, country…) "
            "to the accounts source"
        )
    order = _canonical_order(accounts)
    if order is not None:  # same data in any row order → same scorecard
        accounts, labels = accounts[order], labels[order]
        weight = None if weight is None else np.asarray(weight)[order]
    rows, y = _training_rows(accounts, labels, scoring, deals)
    counts = np.bincount(y, minlength=2) if len(y) else np.zeros(2, int)
    if counts.min() < MIN_PER_CLASS:
        raise InsufficientDataError(
            f"the scorecard needs at least {MIN_PER_CLASS} positive and {MIN_PER_CLASS} negative "
            f"examples for target {scoring.target!r}; found {counts[1]} and {counts[0]}"
        )
    rules = tuple(dict.fromkeys([c.rule for c in criteria] + [d.rule for d in disqualifiers]))
    if segments and scoring.interaction_segments:
        rules += interaction_rules(
            rows.select(attributes),
            segments,
            rules,
            scoring.interaction_segments,
            scoring.min_bin_share,
        )
    scorer = FitScorer(
        max_bins=scoring.max_bins,
        min_bin_share=scoring.min_bin_share,
        C=scoring.regularization,
        random_state=random_state,
        rules=rules,
        numeric_encoding=scoring.numeric_encoding,
        Cs=tuple(scoring.regularization_grid),
    )
    scorer.fit(rows.select(attributes), y, sample_weight=weight)
    card = _with_roles(scorer, {d.rule for d in disqualifiers}, set(segments or ()), attributes)
    target = scoring.target or "best"
    card = dataclasses.replace(
        card, target=target, info={**card.info, "probability_of": _words(target)["probability_of"]}
    )
    plan = ScoringPlan(
        card,
        tuple(c.rule for c in criteria),
        tuple(d.rule for d in disqualifiers),
        TierCuts(UNREACHABLE_CUT, UNREACHABLE_CUT, UNREACHABLE_CUT),
        soft=frozenset(d.rule for d in disqualifiers if not d.forces_nonfit),
    )
    tiers_dict = _fit_tiers(plan, accounts, labels, scoring, tiers, deals)
    return card.to_dict(), tiers_dict


def interaction_rules(
    rows: pl.DataFrame,
    segments: Sequence[str],
    taken: Sequence[str],
    k: int,
    min_share: float,
    max_overlap: float = 0.8,
) -> tuple[str, ...]:
    """Up to ``k`` of ``segments`` (best first) to add as interaction features.

    Kept: conjunctions of two or more conditions over the scoring attributes (a single condition
    is what the bins already hold), met by between ``min_share`` and ``1 - min_share`` of the
    training rows, not already a rule, and overlapping no kept one by more than ``max_overlap``
    (Jaccard of the rows met) — near-copies would only split one weight between two features.
    """
    table = rows.to_arrow()
    kept: list[str] = []
    # the rules already in the card (criteria, disqualifiers) count as kept for the overlap test
    masks = [rule_mask(r, table) for r in taken if set(parse_segment(r).attrs) <= set(rows.columns)]
    for rule in dict.fromkeys(segments):
        try:
            segment = parse_segment(rule)
        except (ConfigError, ValueError):
            continue  # a rule text this version cannot read is skipped, not fatal
        if rule in taken or len(segment.conditions) < 2 or set(segment.attrs) - set(rows.columns):
            continue
        mask = rule_mask(rule, table)
        if not min_share <= mask.mean() <= 1 - min_share:
            continue
        if any((mask & m).sum() > max_overlap * (mask | m).sum() for m in masks):
            continue
        kept.append(rule)
        masks.append(mask)
        if len(kept) == k:
            break
    return tuple(kept)


def _with_roles(
    scorer: FitScorer, disqualifiers: set[str], segments: set[str], attributes: list[str]
) -> Scorecard:
    """The fitted card with disqualifier and interaction rules labelled as such."""
    card = scorer.scorecard_

    def role(f: Any) -> Any:
        if f.kind != "rule" or f.role != "criterion":
            return f
        if f.rule in disqualifiers:
            return dataclasses.replace(f, role="disqualifier", labels=())
        if f.rule in segments:
            return dataclasses.replace(f, role="points", labels=())
        return f

    info = {**card.info, "attributes": attributes, "regularization": float(scorer.C_)}
    return dataclasses.replace(card, features=tuple(role(f) for f in card.features), info=info)


def _fit_tiers(
    plan: ScoringPlan,
    accounts: pl.DataFrame,
    labels: np.ndarray,
    scoring: ScoringConfig,
    config: TierConfig,
    deals: pl.DataFrame | None,
) -> dict[str, Any]:
    table = accounts.select(plan.columns).to_arrow()
    scores = plan.card.scores(plan.card.points_matrix(plan.card.codes(table)))
    fit = plan.masks(table).fit(bool(plan.criteria))
    cuts = choose_cuts(scores, fit, config)
    tier = assign_tiers(scores, fit, cuts)
    success, trials = _outcomes_per_account(accounts, labels, scoring, deals)
    rows = tier_table(tier, success, trials)
    forcing = bool(set(plan.disqualifiers) - plan.soft)
    return {
        "cuts": cuts.to_dict(),
        "targets": config.model_dump(),
        "criteria_based": bool(plan.criteria),
        "rules": tier_rules(cuts, bool(plan.criteria), forcing),
        "overriding_disqualifiers": sorted(set(plan.disqualifiers) - plan.soft),
        "success": "best customers among ranked accounts"
        if scoring.target in ("best", None)
        else "won deals among closed deals",
        "success_name": _words(scoring.target or "best")["name"],
        "table": rows,
        "bar": madkudu_bar(rows),
    }
