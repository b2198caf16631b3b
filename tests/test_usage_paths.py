"""One export in every format, every reader path → the same events and the same features
(issue 28, the speed work of bench/bench_usage.py): PostHog, Segment, Amplitude and Mixpanel JSON
lines read by polars and through DuckDB's Parquet copy, CSV and Parquet. Also the bot detector's
hashed pre-filter against the plain per-user count it replaced."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from icpkit.config import UsageConfig
from icpkit.usage.features import bot_users, usage_features
from icpkit.usage.mapping import map_accounts
from icpkit.usage.readers import canonical, scan_usage

ACCOUNTS = pl.DataFrame({"account_id": [f"A{i}" for i in range(6)]})
SETTINGS = UsageConfig.model_validate(
    {
        "value_events": ["report_created"],
        "integration_events": ["integration_connected"],
        "bot_events_per_minute": 20,
    }
)
AS_OF = date(2025, 6, 1)
NAMES = ["dashboard_used", "report_created", "integration_connected", "$pageview", "api_used"]


def _events() -> pl.DataFrame:
    """600 events over six accounts (one unknown group), a few integrations and values, and one
    bot: 40 events within a minute."""
    rng = np.random.default_rng(3)
    n = 600
    start = datetime(2025, 1, 1)
    ms = rng.integers(0, 150 * 86_400_000, size=n)
    account = rng.integers(0, 7, size=n)  # 6 = an unknown group
    rows = [
        {
            "group": f"A{a}",
            "user": f"u{rng.integers(4)}@a{a}.example",
            "ts": start + timedelta(milliseconds=int(t)),
            "event": NAMES[rng.integers(len(NAMES))],
            "integration": ["slack", "jira", None][rng.integers(3)],
            "value": float(rng.integers(1, 9)),
        }
        for a, t in zip(account, ms, strict=True)
    ]
    burst = datetime(2025, 3, 3, 9, 30)
    rows += [
        {"group": "A1", "user": "bot@a1.example", "ts": burst + timedelta(seconds=i),
         "event": "api_used", "integration": None, "value": None}
        for i in range(40)
    ]  # fmt: skip
    return pl.DataFrame(rows).sort("ts")


def _iso(ts: datetime, sep: str = "T", zone: str = "Z") -> str:
    return ts.strftime(f"%Y-%m-%d{sep}%H:%M:%S.") + f"{ts.microsecond // 1000:03d}" + zone


def _write(tmp: Path, fmt: str, events: pl.DataFrame) -> Path:
    rows = events.to_dicts()
    if fmt in ("csv", "parquet"):
        table = events.select(
            pl.col("group").alias("account_id"),
            pl.col("user").alias("user_id"),
            pl.col("ts").alias("timestamp"),
            "event",
            "value",
            "integration",
        )
        path = tmp / f"events.{fmt}"
        if fmt == "csv":
            table.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S%.3f")).write_csv(
                path
            )
        else:
            table.write_parquet(path)
        return path
    records = []
    for r in rows:
        props = {"integration": r["integration"], "value": r["value"]}
        if fmt == "posthog":
            records.append(
                {
                    "event": r["event"],
                    "distinct_id": r["user"],
                    "timestamp": _iso(r["ts"]),
                    "properties": {**props, "$groups": {"company": r["group"]}},
                }
            )
        elif fmt == "segment":
            records.append(
                {
                    "type": "track",
                    "event": r["event"],
                    "userId": r["user"],
                    "timestamp": _iso(r["ts"]),
                    "properties": props,
                    "context": {"groupId": r["group"]},
                }
            )
            records.append({"type": "identify", "userId": r["user"], "timestamp": _iso(r["ts"])})
        elif fmt == "amplitude":
            records.append(
                {
                    "event_type": r["event"],
                    "user_id": r["user"],
                    "event_time": _iso(r["ts"], " ", "000"),
                    "event_properties": props,
                    "groups": {"company": r["group"]},
                }
            )
        else:  # mixpanel: epoch milliseconds
            epoch = int((r["ts"] - datetime(1970, 1, 1)).total_seconds() * 1000)
            records.append(
                {
                    "event": r["event"],
                    "properties": {
                        **props,
                        "time": epoch,
                        "distinct_id": r["user"],
                        "company_id": r["group"],
                    },
                }
            )
    path = tmp / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _features(path: Path, fmt: str, engine: str) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    scanned = scan_usage(path, fmt, engine=engine)  # type: ignore[arg-type]
    events = map_accounts(canonical(scanned), ACCOUNTS, by_email_domain=False)
    result = usage_features(events, SETTINGS, as_of=AS_OF)
    mapped = events.collect().sort("timestamp", "user_id", "event")
    return mapped, result.frame.sort("account_id"), result.n_bots


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    tmp = tmp_path_factory.mktemp("ref")
    mapped, frame, n_bots = _features(_write(tmp, "parquet", _events()), "parquet", "auto")
    assert n_bots == 1 and frame.height == 6
    assert (
        frame["usage_integrations"].sum() > 0 and frame["usage_days_to_value"].is_not_null().all()
    )
    return mapped, frame


@pytest.mark.parametrize(
    ("fmt", "engine"),
    [(f, e) for f in ("posthog", "segment", "amplitude", "mixpanel") for e in ("polars", "duckdb")]
    + [("csv", "auto")],
)
def test_every_format_and_reader_gives_the_same_events_and_features(
    tmp_path: Path, reference: tuple[pl.DataFrame, pl.DataFrame], fmt: str, engine: str
) -> None:
    mapped, frame, n_bots = _features(_write(tmp_path, fmt, _events()), fmt, engine)
    ref_mapped, ref_frame = reference
    assert n_bots == 1
    assert_frame_equal(mapped, ref_mapped)
    assert_frame_equal(frame, ref_frame)


def _bots_by_string(events: pl.LazyFrame, per_minute: int) -> pl.DataFrame:
    """The detector as it was before the hashed pre-filter: users counted by their id."""
    heavy = (
        events.group_by("user_id")
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= per_minute)
        .select("user_id")
    )
    return (
        events.join(heavy, on="user_id", how="semi")
        .group_by("user_id", pl.col("timestamp").dt.truncate("1m").alias("minute"))
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= per_minute)
        .group_by("user_id")
        .agg(pl.col("n").max().alias("peak_per_minute"))
        .collect()
        .sort("user_id")
    )


@pytest.mark.parametrize("per_minute", [1, 5, 20, 41])
def test_the_hashed_bot_prefilter_finds_the_same_bots(per_minute: int) -> None:
    events = (
        _events()
        .select(pl.col("user").alias("user_id"), pl.col("ts").alias("timestamp"))
        .vstack(pl.DataFrame({"user_id": [None] * 30, "timestamp": [datetime(2025, 2, 2)] * 30}))
    )
    got = bot_users(events.lazy(), per_minute).collect().sort("user_id")
    want = _bots_by_string(events.lazy(), per_minute)
    assert_frame_equal(got, want)
    assert got["user_id"].null_count() == 0  # a blank user is never a bot
