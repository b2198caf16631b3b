"""Which personas go with winning: win rates with and without, stratified lift, BH q-values.

A persona's lift is the Mantel–Haenszel odds ratio of winning with it on the committee versus
without, within strata of fit tier × committee size: tier strata keep a persona that merely marks
big, well-fitting accounts from being credited; size strata keep every persona from riding on the
plain fact that bigger committees win more often (reported separately, in the committee).

Personas are then chosen forward, strongest first: once a persona is found, the others are
compared again within its presence too, so a persona that only rides along with a stronger one
(the function at any level beside its director+, or whoever a found persona's seat would have
gone to) is not credited. At most ``MAX_SELECTED`` rounds; q-values are Benjamini–Hochberg
across every persona tested, each at the round it was last measured.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from icpkit.config import PersonasConfig
from icpkit.personas.linking import ANY, PERSONAS, Committees, persona_name
from icpkit.profile import Evidence, PersonaEvidence
from icpkit.stats import StratifiedOddsRatio, bh_q_values, mantel_haenszel, wilson_bounds

# Committee sizes pooled into strata (upper bounds, inclusive); larger ones form the last.
SIZE_STRATA = np.array([1, 2, 3, 4, 5, 6, 8, 12])
MAX_SELECTED = 3
STRONG_FACTOR = 10  # "strong": q this many times below alpha…
STRONG_DEALS = 30  # …and at least this many deals with the persona


def evidence_level(q: float, lift: float | None, deals_with: int, alpha: float) -> Evidence:
    """weak / moderate / strong, in the words of docs/discovery.md (insufficient is untested)."""
    if q >= alpha or lift is None or lift <= 1.0:
        return "weak"
    if q < alpha / STRONG_FACTOR and deals_with >= STRONG_DEALS:
        return "strong"
    return "moderate"


def persona_evidence(committees: Committees, config: PersonasConfig) -> list[PersonaEvidence]:
    """Every persona on at least ``min_deals`` closed deals (and absent from as many), tested."""
    deals = committees.deals
    tier = deals["tier"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
    size = np.searchsorted(SIZE_STRATA, deals["n_contacts"].to_numpy(), side="left")
    base = tier * (len(SIZE_STRATA) + 1) + size
    won = deals["won"].to_numpy()
    present = committees.counts[deals["unit"].to_numpy()] > 0
    deals_with = present.sum(axis=0)
    won_with = present[won].sum(axis=0)
    tested = np.flatnonzero(
        (deals_with >= config.min_deals) & (len(won) - deals_with >= config.min_deals)
    )
    if tested.size == 0:
        return []
    estimate = _forward(base, present, won, tested, config.alpha)
    return _rows(tested, estimate, deals_with, won_with, int(won.sum()), len(won), config)


def _forward(
    base: np.ndarray, present: np.ndarray, won: np.ndarray, tested: np.ndarray, alpha: float
) -> StratifiedOddsRatio:
    """MH estimates of the tested personas, re-measured within the presence of those selected."""
    stratum = base.copy()
    final = _measure(stratum, present, won, tested)
    open_ = np.ones(len(tested), dtype=bool)
    for _ in range(MAX_SELECTED):
        q = bh_q_values(final.p_value)
        helps = open_ & (q < alpha) & (np.nan_to_num(final.odds_ratio) > 1)
        if not helps.any():
            break
        candidates = np.flatnonzero(helps)
        specific = np.array([PERSONAS[k][1] != ANY for k in tested[candidates]])
        chosen = int(candidates[np.lexsort((~specific, final.p_value[candidates]))[0]])
        open_[chosen] = False
        stratum = stratum * 2 + present[:, tested[chosen]]
        again = _measure(stratum, present, won, tested[open_])
        final = _merge(final, again, open_)
    return final


def _measure(
    stratum: np.ndarray, present: np.ndarray, won: np.ndarray, personas: np.ndarray
) -> StratifiedOddsRatio:
    _, stratum = np.unique(stratum, return_inverse=True)
    n_strata = int(stratum.max()) + 1
    one_hot = np.zeros((len(stratum), n_strata), dtype=np.float32)
    one_hot[np.arange(len(stratum)), stratum] = 1.0
    exposed = present[:, personas].T.astype(np.float32)
    a = exposed[:, won] @ one_hot[won]  # persona × stratum: won with the persona
    b = exposed[:, ~won] @ one_hot[~won]
    c = one_hot[won].sum(axis=0) - a
    d = one_hot[~won].sum(axis=0) - b
    return mantel_haenszel(a, b, c, d)


def _merge(
    old: StratifiedOddsRatio, new: StratifiedOddsRatio, where: np.ndarray
) -> StratifiedOddsRatio:
    """``old`` with the rows in ``where`` replaced by ``new`` where it is defined (a persona that
    always comes with a selected one keeps its earlier estimate)."""
    rows = np.flatnonzero(where)
    defined = np.isfinite(new.odds_ratio)
    parts = []
    for name in ("odds_ratio", "ci_low", "ci_high", "p_value"):
        values = getattr(old, name).copy()
        values[rows[defined]] = getattr(new, name)[defined]
        parts.append(values)
    return StratifiedOddsRatio(*parts)


def _rows(
    tested: np.ndarray,
    mh: StratifiedOddsRatio,
    deals_with: np.ndarray,
    won_with: np.ndarray,
    n_won: int,
    n_deals: int,
    config: PersonasConfig,
) -> list[PersonaEvidence]:
    q_values = bh_q_values(mh.p_value)
    low, high = wilson_bounds(won_with[tested], deals_with[tested])
    rows = []
    for j, k in enumerate(tested):
        function, band = PERSONAS[k]
        n_with, k_with = int(deals_with[k]), int(won_with[k])
        lift = _finite(mh.odds_ratio[j])
        q = float(q_values[j])
        rows.append(
            PersonaEvidence(
                persona=persona_name(function, band),
                function=function,
                seniority=band,
                deals_with=n_with,
                won_with=k_with,
                win_rate_with=k_with / n_with,
                win_rate_without=(n_won - k_with) / (n_deals - n_with),
                win_rate_with_ci=(float(low[j]), float(high[j])),
                lift=lift,
                lift_ci=(_finite(mh.ci_low[j]), _finite(mh.ci_high[j])),
                p_value=float(mh.p_value[j]),
                q_value=q,
                significant=q < config.alpha,
                evidence=evidence_level(q, lift, n_with, config.alpha),
            )
        )
    return sorted(rows, key=lambda r: (not r.significant, -(r.lift or 0.0)))


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
