"""Themes × outcomes: is a theme voiced more by the best customers, by lost or by churned accounts?

The unit is the account: the share of a group's accounts with at least one note on the theme (in
a source family). Counting accounts rather than notes keeps one talkative account from carrying a
theme. The denominator is every account of the group, noted or not: a share of the notes, or of
the noted accounts, is compositional (a group that voices one pain more would appear to voice every
other less). Lost reasons are shares of the accounts that lost at least one deal.

A group that leaves more notes, or notes of another kind (calls rather than tickets), mentions
every theme more often: a theme voiced in the same share of every note would look like "the best
customers' pain" only because they talk more. So the lift and its test compare accounts with the
same note profile (how many notes from each source, see :class:`NoteProfiles`): the lift is the
Mantel–Haenszel risk ratio across profiles with the Greenland–Robins interval, the p-value the
Cochran–Mantel–Haenszel test (Fisher's exact test when a single profile is informative). The
shares shown beside it stay the plain shares of each group.

Comparisons (each group against the other, both must have notes):

- ``best_vs_rest``: best accounts vs the other ranked accounts (icpkit.outcomes labels);
- ``lost_vs_won``: accounts that never won a deal (and lost at least one) vs accounts that won;
- ``churned_vs_retained``: customers whose subscriptions all ended vs those still subscribed.

Source families are kept apart: ``voice`` (every source except lost reasons), ``lost_reason``, and
each single source; q-values are Benjamini–Hochberg within each source family. Families are kept
apart because lost reasons carry many strong, true differences (lost accounts give lost reasons):
pooled with them, BH would let weak differences in the customers' voice through (it controls the
share of false findings, and many true ones buy room for false ones).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as sps

from icpkit.stats import Z95, bh_q_values, json_safe

Direction = Literal["higher", "lower", "none"]
LOST_SOURCE = "lost_reason"
HEADLINE = ("voice", LOST_SOURCE)
COMPARISONS: dict[str, tuple[str, str]] = {
    "best_vs_rest": ("best", "rest"),
    "lost_vs_won": ("lost", "won"),
    "churned_vs_retained": ("churned", "retained"),
}
_FISHER_MAX_N = 5000
NOTE_CAP = 3  # note profiles count 0, 1, 2 or "3 or more" notes per source


@dataclass(frozen=True)
class ThemeTest:
    """One theme in one source family under one comparison (group A against group B)."""

    theme: int
    source: str
    comparison: str
    group_a: str
    group_b: str
    k_a: int
    n_a: int
    k_b: int
    n_b: int
    share_a: float
    share_b: float
    lift: float | None
    lift_ci: tuple[float | None, float | None]
    p_value: float
    q_value: float
    direction: Direction

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return dict(json_safe(asdict(self)))


def account_groups(outcomes: pl.DataFrame) -> dict[str, dict[str, set[str]]]:
    """comparison → {group name → account ids}, from an outcomes frame (icpkit.outcomes)."""
    cols = outcomes.columns
    groups: dict[str, dict[str, set[str]]] = {}
    if "label" in cols:
        ranked = outcomes.filter(pl.col("label") != "unranked")
        best = set(ranked.filter(pl.col("label") == "best")["account_id"].to_list())
        groups["best_vs_rest"] = {"best": best, "rest": set(ranked["account_id"]) - best}
    if {"n_won", "n_lost"} <= set(cols):
        won = outcomes.filter(pl.col("n_won").fill_null(0) > 0)["account_id"]
        lost = outcomes.filter((pl.col("n_won").fill_null(0) == 0) & (pl.col("n_lost") > 0))
        groups["lost_vs_won"] = {"lost": set(lost["account_id"]), "won": set(won)}
    if "churned" in cols:
        churned = outcomes.filter(pl.col("churned") == True)["account_id"]  # noqa: E712
        retained = outcomes.filter(pl.col("churned") == False)["account_id"]  # noqa: E712
        groups["churned_vs_retained"] = {"churned": set(churned), "retained": set(retained)}
    return groups


def families(sources: pl.Series) -> dict[str, np.ndarray]:
    """Source family → mask over the notes: voice, lost_reason, then each single source."""
    values = sources.fill_null("unknown").to_numpy().astype(str)
    found: dict[str, np.ndarray] = {"voice": values != LOST_SOURCE}
    found[LOST_SOURCE] = values == LOST_SOURCE
    for source in sorted(set(values) - {LOST_SOURCE}):
        if found["voice"].sum() != (values == source).sum():  # one voice source: voice says it
            found[source] = values == source
    return {name: mask for name, mask in found.items() if mask.any()}


def compare_themes(
    account_ids: np.ndarray,
    sources: pl.Series,
    labels: np.ndarray,
    n_themes: int,
    groups: dict[str, dict[str, set[str]]],
    alpha: float = 0.05,
    could_lose: set[str] | None = None,
    lost_deals: dict[str, int] | None = None,
) -> list[ThemeTest]:
    """Every theme × source family × comparison, with lift, interval, p and q (BH).

    ``account_ids``, ``sources`` and ``labels`` are aligned with the notes (label -1: none). The
    share of a group is over all its accounts, whether or not they left a note; for lost
    reasons, over the accounts that lost a deal (``could_lose``), the only ones that can give
    one. The lift and p-value compare accounts with the same chances to voice a theme: the same
    notes on the other themes (see :class:`NoteProfiles`), or for lost reasons the same number of lost deals
    (``lost_deals``, when known) — each lost deal is a chance to give every reason, whereas a
    count of lost-reason notes already holds the reasons themselves (an account whose deals all
    carry one reason has fewer notes left for the others, at the same count).
    """
    rows: list[dict[str, Any]] = []
    account_ids = account_ids.astype(str)
    source_values = sources.fill_null("unknown").to_numpy().astype(str)
    for source, mask in families(sources).items():
        mentioned = _mentions(account_ids[mask], labels[mask], n_themes)
        strata: NoteProfiles | dict[str, int] = NoteProfiles(
            account_ids[mask], source_values[mask], labels[mask], n_themes
        )
        if source == LOST_SOURCE and lost_deals is not None:
            strata = {a: min(n, NOTE_CAP) for a, n in lost_deals.items()}
        eligible = could_lose if source == LOST_SOURCE and could_lose is not None else None
        for comparison, members in groups.items():
            group_a, group_b = COMPARISONS[comparison]
            a, b = members[group_a], members[group_b]
            if eligible is not None:
                a, b = a & eligible, b & eligible
            if not a or not b:
                continue
            rows += _compare_family(mentioned, strata, source, comparison, a, b)
    for source in {r["source"] for r in rows}:
        family = [i for i, r in enumerate(rows) if r["source"] == source]
        q = bh_q_values([rows[i]["p_value"] for i in family])
        for i, value in zip(family, q, strict=True):
            rows[i]["q_value"] = float(value)
    return [_finish(r, alpha) for r in rows]


class NoteProfiles:
    """Per theme, each account's note profile on the *other* themes: notes per source, capped.

    Accounts that leave more notes mention every theme more often, and a source's notes differ
    in kind (a ticket reports a problem, a survey answers a question): when one group leaves
    more notes, or other sources, every theme looks more voiced by it. Comparing accounts with
    the same profile (Cochran–Mantel–Haenszel across profiles) removes both.

    Two profiles are kept, and a difference is reported only when it holds under both (an
    intersection–union test: the larger p-value, and both lifts on the same side of 1):

    * all the account's notes — right when each note voices one theme and some accounts simply
      talk more (a theme in every third note is then voiced alike at every note count);
    * its notes on the *other* themes — right when a theme brings notes of its own (a pain that
      makes an account call): at the same total, that theme would crowd the others out of the
      accounts that have it and make them look less (or, in the other group, more) voiced.

    Each source counts 0, 1, 2 or ``NOTE_CAP``+ notes; an account with no note in the family has
    no profile and drops out (it tells nothing about what it would have said).
    """

    def __init__(
        self, account_ids: np.ndarray, sources: np.ndarray, labels: np.ndarray, n_themes: int
    ) -> None:
        self.accounts, account = np.unique(account_ids.astype(str), return_inverse=True)
        names, source = np.unique(sources.astype(str), return_inverse=True)
        account, source = account.ravel(), source.ravel()
        self.total = np.zeros((len(self.accounts), len(names)), dtype=np.int64)
        np.add.at(self.total, (account, source), 1)
        self.by_theme = np.zeros((n_themes, len(self.accounts), len(names)), dtype=np.int64)
        keep = labels >= 0
        np.add.at(self.by_theme, (labels[keep], account[keep], source[keep]), 1)
        self.index = {a: i for i, a in enumerate(self.accounts.tolist())}

    def rows_of(self, accounts: list[str]) -> np.ndarray:
        """Each account's row in the profiles (-1: no note), for :meth:`keys`."""
        return np.array([self.index.get(a, -1) for a in accounts], dtype=np.int64)

    def keys(
        self,
        theme: int,
        accounts: list[str],
        *,
        without_theme: bool,
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """One integer per account: its profile, with or without the theme's notes (-1: no note).

        ``rows`` is ``rows_of(accounts)`` when the caller asks for many themes of one list."""
        counts = self.total - self.by_theme[theme] if without_theme else self.total
        other = np.minimum(counts, NOTE_CAP)
        code = other @ ((NOTE_CAP + 1) ** np.arange(other.shape[1]))
        rows = self.rows_of(accounts) if rows is None else rows
        return np.where(rows >= 0, code[np.maximum(rows, 0)], -1)


def _compare_family(
    mentioned: list[set[str]],
    strata: NoteProfiles | dict[str, int],
    source: str,
    comparison: str,
    a: set[str],
    b: set[str],
) -> list[dict[str, Any]]:
    """The tests of every theme in one source family and comparison."""
    group_a, group_b = COMPARISONS[comparison]
    accounts = sorted(a | b)
    in_a = np.array([x in a for x in accounts])
    index = {x: i for i, x in enumerate(accounts)}
    fixed = (
        np.array([strata.get(x, -1) for x in accounts], dtype=np.int64)
        if isinstance(strata, dict)
        else None
    )
    at = strata.rows_of(accounts) if isinstance(strata, NoteProfiles) else None
    rows = []
    for theme, accounts_with in enumerate(mentioned):
        hit = np.zeros(len(accounts), dtype=bool)
        hit[[index[x] for x in accounts_with if x in index]] = True
        k_a, k_b = int((hit & in_a).sum()), int((hit & ~in_a).sum())
        if k_a + k_b == 0:
            continue
        if fixed is not None:
            lift, low, high, p_value = _stratified(*_cells(fixed, hit, in_a))
        else:  # both ways of counting the chances must show the difference (see NoteProfiles)
            assert isinstance(strata, NoteProfiles)
            both = [
                _stratified(
                    *_cells(strata.keys(theme, accounts, without_theme=w, rows=at), hit, in_a)
                )
                for w in (False, True)
            ]
            lift, low, high, p_value = max(both, key=lambda r: r[3])
            sides = {None if r[0] is None else r[0] > 1 for r in both}
            if len(sides) > 1:  # opposite directions: no difference that holds both ways
                p_value = 1.0
        n_a, n_b = int(in_a.sum()), int((~in_a).sum())
        rows.append(
            {
                "theme": theme, "source": source, "comparison": comparison,
                "group_a": group_a, "group_b": group_b,
                "k_a": k_a, "n_a": n_a, "k_b": k_b, "n_b": n_b,
                "share_a": k_a / n_a, "share_b": k_b / n_b,
                "lift": lift, "lift_ci": (low, high),
                "p_value": p_value, "q_value": 1.0,
            }
        )  # fmt: skip
    return rows


def _cells(keys: np.ndarray, hit: np.ndarray, in_a: np.ndarray) -> list[np.ndarray]:
    """Per stratum: A accounts voicing the theme, A accounts, the same for B."""
    _, stratum = np.unique(keys, return_inverse=True)
    stratum = stratum.ravel()
    n_strata = int(stratum.max()) + 1
    return [
        np.bincount(stratum[m], minlength=n_strata).astype(float)
        for m in (hit & in_a, in_a, hit & ~in_a, ~in_a)
    ]


def _stratified(
    a: np.ndarray, n1: np.ndarray, c: np.ndarray, n0: np.ndarray
) -> tuple[float | None, float | None, float | None, float]:
    """Mantel–Haenszel risk ratio (Greenland–Robins interval) and the CMH p-value across strata.

    Strata with one group only, or where nobody mentions the theme, carry no information and
    drop out. With a single informative stratum (one note profile) the test is Fisher's exact
    test on that table, as before.
    """
    total = n1 + n0
    ok = (n1 > 0) & (n0 > 0) & (a + c > 0)
    if not ok.any():
        return None, None, None, 1.0
    a, n1, c, n0, total = a[ok], n1[ok], c[ok], n0[ok], total[ok]
    if len(a) == 1:
        lift, low, high = _risk_ratio(int(a[0]), int(n1[0]), int(c[0]), int(n0[0]))
        return lift, low, high, _two_sided_p(int(a[0]), int(n1[0]), int(c[0]), int(n0[0]))
    top, bottom = float((a * n0 / total).sum()), float((c * n1 / total).sum())
    events = a + c
    expected = float((n1 * events / total).sum())
    variance = float(
        (n1 * n0 * events * (total - events) / (total**2 * np.maximum(total - 1, 1))).sum()
    )
    statistic = max(abs(float(a.sum()) - expected) - 0.5, 0.0) ** 2 / variance if variance else 0.0
    p_value = float(sps.chi2.sf(statistic, 1)) if variance else 1.0
    if top == 0 or bottom == 0:  # every mention on one side: the pooled ratio, 0.5 added
        lift, low, high = _risk_ratio(int(a.sum()), int(n1.sum()), int(c.sum()), int(n0.sum()))
        return lift, low, high, p_value
    ratio = top / bottom
    var = float(((n1 * n0 * events - a * c * total) / total**2).sum()) / (top * bottom)
    half_width = Z95 * math.sqrt(max(var, 0.0))
    return ratio, ratio * math.exp(-half_width), ratio * math.exp(half_width), p_value


def _mentions(account_ids: np.ndarray, labels: np.ndarray, n_themes: int) -> list[set[str]]:
    """Per theme, the accounts with at least one note on it."""
    frame = pl.DataFrame({"account_id": account_ids.astype(str), "label": labels})
    pairs = frame.filter(pl.col("label") >= 0).unique()
    found: list[set[str]] = [set() for _ in range(n_themes)]
    for label, group in pairs.group_by("label"):
        found[int(label[0])] = set(group["account_id"].to_list())
    return found


def _finish(row: dict[str, Any], alpha: float) -> ThemeTest:
    """The test with its direction: that of the lift (compared like with like), else the shares."""
    significant = row["q_value"] < alpha
    direction: Direction = "none"
    if significant:
        lift = row["lift"]
        higher = lift > 1 if lift is not None else row["share_a"] > row["share_b"]
        direction = "higher" if higher else "lower"
    return ThemeTest(**row, direction=direction)


def _risk_ratio(
    k_a: int, n_a: int, k_b: int, n_b: int
) -> tuple[float | None, float | None, float | None]:
    """Share A ÷ share B with the Katz log interval (0.5 added to zero cells)."""
    if k_b == 0 and k_a == 0:
        return None, None, None
    ka, kb = (k_a + 0.5, k_b + 0.5) if min(k_a, k_b) == 0 else (k_a, k_b)
    na, nb = (n_a + 0.5, n_b + 0.5) if min(k_a, k_b) == 0 else (n_a, n_b)
    ratio = (ka / na) / (kb / nb)
    se = math.sqrt(max(1 / ka - 1 / na + 1 / kb - 1 / nb, 0.0))
    lift = (k_a / n_a) / (k_b / n_b) if k_b > 0 else ratio
    return lift, ratio * math.exp(-Z95 * se), ratio * math.exp(Z95 * se)


def _two_sided_p(k_a: int, n_a: int, k_b: int, n_b: int) -> float:
    table = np.array([[k_a, n_a - k_a], [k_b, n_b - k_b]])
    total = n_a + n_b
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / max(total, 1)
    if total <= _FISHER_MAX_N or expected.min() < 5:
        return float(sps.fisher_exact(table).pvalue)
    return float(sps.chi2_contingency(table, correction=False).pvalue)
