"""Population stability: has each attribute of the accounts moved since an ICP was built?

PSI per attribute between the accounts a version was trained on and the current accounts (or a
new prospect list). Numeric attributes use the training deciles as bins, categorical ones their
frequent levels plus an 'other' pool, tag lists the share of each tag; missing values are a bin
of their own; empty bins get a small epsilon. Usual reading: < 0.1 stable, 0.1–0.25 moderate,
> 0.25 major. The bins are shared with the win-pattern test of :mod:`icpkit.lifecycle.drift`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import numpy as np
import polars as pl

from icpkit.config import DriftConfig
from icpkit.errors import ConfigError
from icpkit.profile import IcpProfile

EPSILON = 1e-4  # share given to an empty bin, so PSI stays finite
NOT_ATTRIBUTES = {"account_id", "name", "domain", "website", "email", "phone"}


@dataclass(frozen=True)
class AttributeDrift:
    """PSI of one attribute, with the bins that moved most.

    ``p_value`` tests whether the shift is more than sampling noise: for two samples from one
    distribution, PSI × n_t·n_c/(n_t+n_c) is close to χ² with (bins − 1) degrees of freedom
    (PSI is the symmetric Kullback–Leibler divergence). ``significant`` applies a Bonferroni
    correction over the attributes compared together.
    """

    attribute: str
    kind: str  # numeric | categorical | tags
    psi: float
    level: str  # stable | moderate | major
    used_by_profile: bool
    n_train: int
    n_current: int
    p_value: float = 1.0
    significant: bool = False
    top_bins: tuple[dict[str, Any], ...] = field(default=())

    def describe(self) -> str:
        moved = ", ".join(
            f"{b['bin']} {b['train_share']:.0%} → {b['current_share']:.0%}"
            for b in self.top_bins[:2]
        )
        return f"{self.attribute} PSI {self.psi:.2f} ({self.level}{'; ' + moved if moved else ''})"


def psi(train_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins (epsilon for empties)."""
    t = np.maximum(np.asarray(train_shares, dtype=float), EPSILON)
    c = np.maximum(np.asarray(current_shares, dtype=float), EPSILON)
    return float(np.sum((c - t) * np.log(c / t)))


def psi_level(value: float, settings: DriftConfig | None = None) -> str:
    """stable (< 0.1), moderate (0.1–0.25) or major (> 0.25), with the settings' thresholds."""
    s = settings or DriftConfig()
    return "major" if value > s.psi_major else "moderate" if value >= s.psi_moderate else "stable"


def attribute_drift(
    train: pl.Series,
    current: pl.Series,
    *,
    used: bool = False,
    settings: DriftConfig | None = None,
) -> AttributeDrift:
    """PSI of one attribute between its training values and its current values."""
    from scipy.stats import chi2

    s = settings or DriftConfig()
    binned = bin_attribute(train, current, s)
    kind, labels = binned.kind, binned.labels
    nt, nc = binned.counts()
    t, c = _norm(nt), _norm(nc)
    value = psi(t, c)
    te, ce = np.maximum(t, EPSILON), np.maximum(c, EPSILON)
    contrib = (ce - te) * np.log(ce / te)
    top = [
        {"bin": labels[i], "train_share": float(t[i]), "current_share": float(c[i])}
        for i in np.argsort(-contrib)[:3]
        if contrib[i] > 0.001
    ]
    n_t, n_c = float(nt.sum()), float(nc.sum())
    df = int(((nt + nc) > 0).sum()) - 1
    p_value = 1.0
    if n_t and n_c and df > 0:
        p_value = float(chi2.sf(value * n_t * n_c / (n_t + n_c), df))
    return AttributeDrift(
        train.name,
        kind,
        value,
        psi_level(value, s),
        used,
        train.len(),
        current.len(),
        p_value,
        False,
        tuple(top),
    )


def _norm(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts


def bin_counts(codes: np.ndarray, k: int) -> np.ndarray:
    """How many rows fell in each of the k bins."""
    return np.bincount(codes, minlength=k).astype(float)


@dataclass(frozen=True)
class Binned:
    """An attribute's bins, and for each side which row fell into which bin.

    ``rows_*`` and ``codes_*`` are parallel arrays: for a tag list a row appears once per tag (and
    once in '(no tags)' when it has none); for other kinds once.
    """

    kind: str
    labels: list[str]
    rows_train: np.ndarray
    codes_train: np.ndarray
    rows_current: np.ndarray
    codes_current: np.ndarray

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        k = len(self.labels)
        return bin_counts(self.codes_train, k), bin_counts(self.codes_current, k)


def bin_attribute(train: pl.Series, current: pl.Series, settings: DriftConfig) -> Binned:
    """Bins learnt on the training values, applied to both sides (missing is a bin)."""
    if isinstance(train.dtype, pl.List):
        return _tag_bins(train, current, settings.max_levels)
    if train.dtype.is_numeric() and train.dtype != pl.Boolean:
        return _numeric_bins(train, current, settings.numeric_bins)
    return _level_bins(train, current, settings.max_levels)


def _numeric_bins(train: pl.Series, current: pl.Series, bins: int) -> Binned:
    t = train.cast(pl.Float64).fill_nan(None).to_numpy()
    c = current.cast(pl.Float64).fill_nan(None).to_numpy()
    finite = t[~np.isnan(t)]
    edges: np.ndarray = (
        np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
        if finite.size
        else np.array([])
    )
    labels = [f"< {edges[0]:,.4g}"] if len(edges) else ["all values"]
    labels += [f"[{lo:,.4g}, {hi:,.4g})" for lo, hi in pairwise(edges)]
    labels += [f">= {edges[-1]:,.4g}"] if len(edges) else []
    labels.append("(missing)")
    k = len(labels)

    def codes(x: np.ndarray) -> np.ndarray:
        out = np.searchsorted(edges, x, side="right") if len(edges) else np.zeros(x.size, dtype=int)
        return np.where(np.isnan(x), k - 1, out)

    return Binned("numeric", labels, np.arange(t.size), codes(t), np.arange(c.size), codes(c))


def _level_bins(train: pl.Series, current: pl.Series, max_levels: int) -> Binned:
    t, c = train.cast(pl.Utf8), current.cast(pl.Utf8)
    counts = t.drop_nulls().value_counts(sort=True)
    min_count = max(1, int(0.01 * t.len()))  # levels under 1% of training rows join 'other'
    levels = [v for v, n in counts.iter_rows() if n >= min_count][:max_levels]
    labels = [*levels, "(other)", "(missing)"]
    index = {v: i for i, v in enumerate(levels)}

    def codes(s: pl.Series) -> np.ndarray:
        return np.array(
            [len(levels) + 1 if v is None else index.get(v, len(levels)) for v in s.to_list()],
            dtype=int,
        )

    return Binned("categorical", labels, np.arange(t.len()), codes(t), np.arange(c.len()), codes(c))


def _tag_bins(train: pl.Series, current: pl.Series, max_levels: int) -> Binned:
    """One bin per frequent tag (shares of all tag mentions), and one for rows with no tags."""
    exploded = train.explode().drop_nulls()
    tags = exploded.value_counts(sort=True).get_column(exploded.name).to_list()[:max_levels]
    labels = [*tags, "(other tag)", "(no tags)"]
    index = {v: i for i, v in enumerate(tags)}

    def pairs(s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        frame = pl.DataFrame({"tag": s}).with_row_index("row").explode("tag")
        rows = frame["row"].to_numpy().astype(int)
        codes = np.array(
            [
                len(tags) + 1 if v is None else index.get(v, len(tags))
                for v in frame["tag"].to_list()
            ],
            dtype=int,
        )
        return rows, codes

    rt, ct = pairs(train)
    rc, cc = pairs(current)
    return Binned("tags", labels, rt, ct, rc, cc)


def population_drift(
    train_accounts: pl.DataFrame,
    current_accounts: pl.DataFrame,
    used: set[str] | None = None,
    settings: DriftConfig | None = None,
) -> list[AttributeDrift]:
    """PSI of every attribute the two account tables share, most drifted first."""
    s = settings or DriftConfig()
    used = used or set()
    rows = [
        attribute_drift(train_accounts[a], current_accounts[a], used=a in used, settings=s)
        for a in account_attributes(train_accounts, current_accounts)
    ]
    cutoff = s.alpha / max(1, len(rows))  # Bonferroni over the attributes compared together
    rows = [replace(r, significant=r.p_value < cutoff) for r in rows]
    return sorted(rows, key=lambda r: -r.psi)


def account_attributes(train: pl.DataFrame, current: pl.DataFrame) -> list[str]:
    """Shared columns that describe an account (not ids, names, free text or dates)."""
    out = []
    for col in train.columns:
        if col in NOT_ATTRIBUTES or col not in current.columns or col.startswith("_"):
            continue
        dtype = train.schema[col]
        if dtype.is_temporal() or train[col].null_count() == train.height:
            continue
        if _kind(dtype) != _kind(current.schema[col]):
            continue  # not comparable (text vs numbers, tags vs text): not the same attribute
        if dtype == pl.Utf8 and train[col].n_unique() > max(50, 0.5 * train.height):
            continue  # identifier-like text: every value its own level
        out.append(col)
    return out


def _kind(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.List):
        return "tags"
    if dtype.is_numeric():
        return "number"
    if dtype == pl.Boolean:
        return "bool"
    return "temporal" if dtype.is_temporal() else "text"


def profile_attributes(profile: IcpProfile) -> set[str]:
    """The attributes a profile's criteria and disqualifiers test."""
    from icpkit.rules import parse_segment

    attrs: set[str] = set()
    for rule in [*profile.criteria, *profile.disqualifiers]:
        try:
            attrs.update(parse_segment(rule.rule).attrs)
        except ConfigError:
            continue  # an unreadable rule is reported by the profile's own checks
    return attrs
