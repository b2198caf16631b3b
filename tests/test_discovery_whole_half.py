"""A condition must earn its place on the whole search half, not only on the rows earlier families
left (issue 28: a trim of an independent count that held only among the remaining rows entered a
criterion in 2 of 100 fresh null draws, then passed the held-out test by chance).

``find_families`` walks each candidate with ``productive`` on its round's rows, then on the whole
search half; this shows the two walks disagree on a trim of the remainder. The end-to-end check is
``tests/test_usage_recovery.py``'s null test (seed 108 had such a trim in a criterion)."""

from __future__ import annotations

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig
from icpkit.discovery.attributes import attribute_columns, condition_table
from icpkit.discovery.bitsets import pack
from icpkit.discovery.evidence import restrict_rows
from icpkit.discovery.refine import productive
from icpkit.rules import Condition, Segment

CONFIG = DiscoveryConfig.model_validate({"max_depth": 2})

# (a, c, t): accounts, best customers. Among the accounts without A (what remains once the
# family "a = 'yes'" is reported), T raises the rate inside C (70 % vs 10 %); among those with A
# it lowers it (20 % vs 100 %), so over all accounts C AND T (50 %) is worse than C without T
# (70 %); outside C, T does nothing.
CELLS = {
    ("yes", "yes", "yes"): (400, 80),
    ("yes", "yes", "no"): (400, 400),
    ("yes", "no", "no"): (400, 360),
    ("no", "yes", "yes"): (600, 420),
    ("no", "yes", "no"): (200, 20),
    ("no", "no", "yes"): (400, 40),
    ("no", "no", "no"): (2400, 240),
}


def _accounts(seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rows, best = [], []
    for (a, c, t), (n, hits) in CELLS.items():
        rows += [(a, c, t)] * n
        best += [True] * hits + [False] * (n - hits)
    # "no" comes in two levels of equal rates (a two-level attribute keeps one condition only)
    rows = [tuple(v if v == "yes" else f"no{i % 2}" for v in row) for i, row in enumerate(rows)]
    order = np.random.default_rng(seed).permutation(len(rows))
    frame = pl.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(len(rows))],
            **{name: [rows[i][k] for i in order] for k, name in enumerate("act")},
        }
    )
    return frame, np.array(best)[order]


def test_the_trim_holds_on_the_remaining_rows_only() -> None:
    frame, best = _accounts()
    table = condition_table(frame, attribute_columns(frame.drop("account_id")), CONFIG)
    c_and_t = Segment((Condition("c", "eq", "yes"), Condition("t", "eq", "yes")))
    remaining = frame["a"].to_numpy() != "yes"
    # on the rows no family covers yet, T earns its place …
    kept = productive(c_and_t, restrict_rows(table, remaining), pack(best), 0.05)
    assert kept == c_and_t
    # … on all of them it does not
    assert productive(c_and_t, table, pack(best), 0.05) == Segment((Condition("c", "eq", "yes"),))
