"""Selection-aware q-values of the single-trait rows: an attribute must earn its place first.

The single-trait profile shows, per attribute, several rows picked among many: the bins of a
numeric attribute, its best threshold (the smallest p-value among its ``< c`` / ``≥ c`` splits,
tested on the same rows it was picked on), the levels of a categorical one. Benjamini–Hochberg
over every row of every attribute treats those as independent tests: one null attribute brings a
dozen correlated chances, and when most attributes carry a real effect (many rejections) BH lets
each through at nearly the raw level. Measured in issue 28 on the usage generator: an event
count drawn independently of every outcome had a row with q < 0.05 in 14.7 % of 300 fresh draws
(nominal 5 %), as often as its best threshold's raw p fell below 0.05.

So the q-value of a row is hierarchical (a gatekeeper, as in Benjamini & Bogomolov's selective
inference on families of hypotheses):

1. **Within an attribute**, each row's p-value is adjusted for the choice among the attribute's
   rows by the single-step max-statistic method (Westfall & Young): the chance, under the
   permutation null (the target spread over the accounts at random, the attribute's values
   fixed), that *some* row of the attribute reaches this row's chi-square statistic. Every row is
   a union of the attribute's atoms (the groups of accounts no row separates: the bins, the
   levels), so the null is a multivariate hypergeometric draw of the target counts over the atoms
   — ``N_DRAWS`` draws, seeded, whatever the number of accounts. Where no draw reaches a row (the
   draws cannot resolve p-values below 1 / ``N_DRAWS``), the Bonferroni bound (the raw p times the
   number of rows), which always lies above the exact value, is used when smaller.
2. **Across attributes**, the attribute's p-value (its smallest adjusted row p) goes into
   Benjamini–Hochberg over the attributes.
3. A row's q-value is the larger of its attribute's q-value and its own adjusted p-value: a row
   is significant only when its attribute passes across attributes and the row passes within it.

A null attribute then shows a significant row about as often as its attribute-level test rejects:
at most ``alpha`` (``tests/test_trait_selection.py`` measures it).
"""

from __future__ import annotations

import numpy as np

from icpkit.discovery.bitsets import unpack
from icpkit.stats import bh_q_values

# Null draws per attribute (p-values resolve to ~1 / N_DRAWS; below that, Bonferroni).
N_DRAWS = 2000
# Atom codes up to this many rows of one attribute go through a bincount, beyond through unique.
_BINCOUNT_BITS = 20


def chi_square(hits: np.ndarray, size: np.ndarray, n_target: int, n_total: int) -> np.ndarray:
    """Squared z of a 2×2 table under the hypergeometric null (0 where it is degenerate)."""
    n = float(n_total)
    expected = size * (n_target / n)
    variance = size * (n - size) * n_target * (n - n_target) / (n * n * max(n - 1.0, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = (hits - expected) ** 2 / variance
    return np.where(variance > 0, z2, 0.0)


def _atoms(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows per atom, incidence: row j covers atom u) of the boolean ``masks`` (rows × accounts)."""
    k = masks.shape[0]
    if k <= _BINCOUNT_BITS:
        codes = np.zeros(masks.shape[1], dtype=np.int64)
        for j in range(k):
            codes |= masks[j].astype(np.int64) << j
        counts = np.bincount(codes, minlength=1)
        present = np.flatnonzero(counts)
        incidence = ((present[None, :] >> np.arange(k)[:, None]) & 1).astype(bool)
        return counts[present], incidence
    patterns, sizes = np.unique(masks.T, axis=0, return_counts=True)
    return sizes, patterns.T.astype(bool)


def max_statistic_p(
    bits: np.ndarray,
    n_rows: int,
    target: np.ndarray,
    raw_p: np.ndarray,
    rng: np.random.Generator,
    n_draws: int = N_DRAWS,
) -> np.ndarray:
    """Each row's p-value adjusted for the choice among the rows of one attribute (step 1 of the
    module docstring).

    Parameters
    ----------
    bits : packed covers of the attribute's rows (rows × words).
    n_rows : accounts covered by the bitsets.
    target : boolean target per account.
    raw_p : each row's own p-value (for the Bonferroni bound in the far tail).
    rng : the generator of the null draws (seeded by the caller, for reproducible q-values).
    """
    k = bits.shape[0]
    if k == 0:
        return np.zeros(0)
    masks = unpack(bits, n_rows)
    target = np.asarray(target, dtype=bool)
    n_target = int(target.sum())
    size = masks.sum(axis=1).astype(np.float64)
    hits = (masks & target).sum(axis=1).astype(np.float64)
    observed = chi_square(hits, size, n_target, n_rows)
    atom_sizes, incidence = _atoms(masks)
    if n_target in (0, n_rows):
        return np.ones(k)
    draws = rng.multivariate_hypergeometric(atom_sizes, n_target, size=n_draws)
    null_hits = draws @ incidence.T.astype(np.int64)  # draws × rows
    largest = chi_square(null_hits.astype(np.float64), size[None, :], n_target, n_rows).max(axis=1)
    largest.sort()
    # draws at least as extreme (a relative tolerance: equal tables give equal statistics)
    reach = n_draws - np.searchsorted(largest, observed * (1 - 1e-9), side="left")
    monte_carlo = (1.0 + reach) / (n_draws + 1.0)
    bonferroni = np.minimum(np.asarray(raw_p, dtype=np.float64) * k, 1.0)
    return np.where(reach == 0, np.minimum(monte_carlo, bonferroni), monte_carlo)


def hierarchical_q(
    bits: np.ndarray,
    n_rows: int,
    target: np.ndarray,
    raw_p: np.ndarray,
    attribute: np.ndarray,
    seed: int = 0,
    n_draws: int = N_DRAWS,
) -> np.ndarray:
    """The q-value of every row (steps 1–3 of the module docstring).

    ``bits`` holds the rows' packed covers, ``raw_p`` their own p-values and ``attribute`` an
    attribute number per row (rows of one attribute are adjusted together); the null draws of
    attribute ``a`` are seeded by ``(seed, a)``.
    """
    attribute = np.asarray(attribute)
    adjusted = np.ones(len(raw_p))
    keys = np.unique(attribute)
    for a in keys:
        rows = np.flatnonzero(attribute == a)
        rng = np.random.default_rng([seed, int(a)])
        adjusted[rows] = max_statistic_p(bits[rows], n_rows, target, raw_p[rows], rng, n_draws)
    family_p = np.array([adjusted[attribute == a].min() for a in keys])
    family_q = dict(zip(keys.tolist(), bh_q_values(family_p).tolist(), strict=True))
    return np.maximum(np.array([family_q[a] for a in attribute.tolist()]), adjusted)
