"""Each condition of a multi-condition segment must also hold on the held-out half
(icpkit.discovery.refine.confirmed, issue 28: a chance trim on an independent count entered the
ICP on 5 of 10 seeds when only the search half judged it)."""

from __future__ import annotations

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig
from icpkit.discovery.attributes import attribute_columns, condition_table
from icpkit.discovery.bitsets import pack
from icpkit.discovery.refine import confirmed
from icpkit.rules import Segment

CONFIG = DiscoveryConfig.model_validate({})


def _frame(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = rng.integers(1, 1000, n)
    seats = rng.integers(1, 100, n)
    noise = rng.integers(0, 10, n)  # independent of everything
    best = rng.random(n) < 0.05 + 0.25 * (size >= 200) + 0.25 * (seats >= 50)
    frame = pl.DataFrame({"employees": size, "seats": seats, "themes": noise})
    return frame, best


def test_a_chance_condition_is_dropped_and_real_ones_stay() -> None:
    frame, best = _frame(4000, 5)
    table = condition_table(frame, attribute_columns(frame), CONFIG)
    size = min(
        (c for c in table.conditions if c.attr == "employees" and c.op == "range"),
        key=lambda c: (abs(c.value[0] - 200), -c.value[1]),
    )
    many_seats = min(
        (c for c in table.conditions if c.attr == "seats" and c.op == "range"),
        key=lambda c: (abs(c.value[0] - 50), -c.value[1]),
    )
    real = Segment((size, many_seats))
    assert confirmed(real, table, pack(best), 0.05) == real
    # a condition on the independent count, with the real ones: it earns no place
    noise = next(c for c in table.conditions if c.attr == "themes")
    trimmed = confirmed(Segment((size, many_seats, noise)), table, pack(best), 0.05)
    assert trimmed == real
    # a single condition is left to the segment's own held-out test
    alone = Segment((noise,))
    assert confirmed(alone, table, pack(best), 0.05) == alone
