"""The walks of ``productive`` and ``confirmed`` shared through a memo end where fresh walks end.

Issue 30 (build speed): the candidates of one search round are mostly variants of a few segments,
so ``find_families`` passes one memo per round (and one for the held-out half) and a walk stops at
the first segment already walked. Differential check: many random segments walked in a random
order, with one shared memo and without.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from icpkit.config import DiscoveryConfig
from icpkit.discovery.attributes import attribute_columns, condition_table
from icpkit.discovery.bitsets import pack
from icpkit.discovery.refine import confirmed, productive
from icpkit.rules import Segment

CONFIG = DiscoveryConfig.model_validate({})


def _table_and_target(n: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    size = rng.integers(1, 1000, n)
    seats = rng.integers(1, 100, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    noise = rng.integers(0, 10, n)
    best = rng.random(n) < 0.05 + 0.25 * (size >= 200) + 0.25 * (seats >= 50) + 0.1 * (
        region == "north"
    )
    frame = pl.DataFrame({"employees": size, "seats": seats, "region": region, "themes": noise})
    return condition_table(frame, attribute_columns(frame), CONFIG), pack(best)


def _segments(table, seed: int, count: int) -> list[Segment]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    by_attr: dict[str, list] = {}
    for c in table.conditions:
        by_attr.setdefault(c.attr, []).append(c)
    out = []
    for _ in range(count):
        k = int(rng.integers(1, 4))
        attrs = rng.choice(sorted(by_attr), size=k, replace=False)
        out.append(Segment(tuple(by_attr[a][int(rng.integers(len(by_attr[a])))] for a in attrs)))
    # repeats and their sub-segments, as a search round's candidates have
    out += [Segment(s.conditions[:-1]) for s in out if len(s) > 1] + out[: count // 3]
    rng.shuffle(out)  # type: ignore[arg-type]
    return out


def test_memo_walks_end_where_fresh_walks_end() -> None:
    for seed in range(3):
        table, target = _table_and_target(1500, seed)
        segments = _segments(table, seed, 60)
        for walk in (productive, confirmed):
            memo: dict[Segment, Segment] = {}
            for segment, alpha in itertools.product(segments, (0.05,)):
                assert walk(segment, table, target, alpha, memo) == walk(
                    segment, table, target, alpha
                ), (walk.__name__, str(segment))
            assert memo  # the memo was used (and filled with every segment walked)
