"""Usage features from a large events export: icpkit (polars, streamed) vs the same aggregation
written directly in DuckDB SQL, in the same run (issue 28).

Writes N events for A accounts as a PostHog export and as Segment track calls (JSON lines), then
for each format runs, each in its own child process (so peak RSS is that step's alone):

- icpkit: ``scan_usage`` → ``map_accounts`` → ``usage_features`` (as of one date): DuckDB parses
  the JSON lines once into a Parquet copy, polars detects bots and aggregates over it;
- duckdb: ``read_json`` + one GROUP BY computing the same features (active users, breadth,
  events per user, active days a week, days to value, integrations in the first 30 days).

Prints wall time, peak RSS and the icpkit/duckdb time ratio per format (best and median of
``--repeat`` runs, the two sides alternating so load changes hit both).

    PYTHONPATH=src python bench/bench_usage.py --events 10000000 --accounts 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

AS_OF = "2025-12-31"
EVENTS = ["dashboard_used", "alert_used", "export_used", "api_used", "workflow_used",
          "report_created", "integration_connected", "$pageview"]  # fmt: skip


def generate(
    path: Path, fmt: str, n: int, accounts: int, seed: int = 0, chunk: int = 1_000_000
) -> None:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2025-01-01T00:00:00", "us").astype(np.int64)
    span = 365 * 86400 * 10**6
    with path.open("wb") as handle:
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            account = rng.integers(accounts, size=m)
            frame = pl.DataFrame(
                {
                    "group": [f"A{a:06d}" for a in account],
                    "user": [
                        f"u{u}@a{a:06d}.example"
                        for a, u in zip(account, rng.integers(5, size=m), strict=True)
                    ],
                    "ts": pl.Series(start + rng.integers(span, size=m)).cast(pl.Datetime("us")),
                    "event": np.array(EVENTS)[rng.integers(len(EVENTS), size=m)],
                    "connects": rng.random(m) < 0.3,
                }
            ).with_columns(
                pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
                pl.when(pl.col("connects")).then(pl.lit("slack")).alias("integration"),
            )
            if fmt == "posthog":
                out = frame.select(
                    "event", pl.col("user").alias("distinct_id"), pl.col("ts").alias("timestamp"),
                    pl.struct(pl.struct(pl.col("group").alias("company")).alias("$groups"),
                              "integration").alias("properties"),
                )  # fmt: skip
            else:
                out = frame.select(
                    pl.lit("track").alias("type"), "event", pl.col("user").alias("userId"),
                    pl.col("ts").alias("timestamp"), pl.struct("integration").alias("properties"),
                    pl.struct(pl.col("group").alias("groupId")).alias("context"),
                )  # fmt: skip
            out.write_ndjson(handle)


def run_icpkit(path: str, fmt: str, accounts: int) -> dict:
    from datetime import date

    from icpkit.config import UsageConfig
    from icpkit.usage.features import usage_features
    from icpkit.usage.mapping import map_accounts
    from icpkit.usage.readers import canonical, scan_usage

    ids = pl.DataFrame({"account_id": [f"A{a:06d}" for a in range(accounts)]})
    settings = UsageConfig.model_validate(
        {"value_events": ["report_created"], "integration_events": ["integration_connected"]}
    )
    events = map_accounts(canonical(scan_usage(Path(path), fmt)), ids, by_email_domain=False)
    result = usage_features(events, settings, as_of=date.fromisoformat(AS_OF))
    frame = result.frame
    return {
        "accounts": frame.height,
        "breadth_sum": int(frame["usage_breadth"].sum()),
        "active_users_sum": int(frame["usage_active_users"].sum()),
        "integrations_sum": int(frame["usage_integrations"].sum()),
    }


def run_duckdb(path: str, fmt: str, accounts: int) -> dict:
    import duckdb

    if fmt == "posthog":
        cols = "{'event': 'VARCHAR', 'distinct_id': 'VARCHAR', 'timestamp': 'VARCHAR', 'properties': 'STRUCT(\"$groups\" STRUCT(company VARCHAR), integration VARCHAR)'}"
        select = "properties['$groups']['company'] AS account_id, distinct_id AS user_id, event, properties['integration'] AS integration"
    else:
        cols = "{'type': 'VARCHAR', 'event': 'VARCHAR', 'userId': 'VARCHAR', 'timestamp': 'VARCHAR', 'properties': 'STRUCT(integration VARCHAR)', 'context': 'STRUCT(groupId VARCHAR)'}"
        select = "context['groupId'] AS account_id, userId AS user_id, event, properties['integration'] AS integration"
    sql = f"""
    WITH raw AS (
      SELECT {select}, CAST(replace(timestamp, 'Z', '') AS TIMESTAMP) AS ts
      FROM read_json('{path}', format='newline_delimited', columns={cols})
    ), ev AS (
      SELECT * FROM raw
      WHERE ts < TIMESTAMP '{AS_OF}' AND NOT regexp_matches(event, '^(\\$.*|page.*|screen.*|identify|session.*|heartbeat)$')
    ), s AS (SELECT account_id, min(ts) AS start FROM ev GROUP BY account_id)
    SELECT ev.account_id,
      count(DISTINCT user_id) FILTER (WHERE ts >= TIMESTAMP '{AS_OF}' - INTERVAL 28 DAY) AS active_users,
      count(*) FILTER (WHERE ts >= TIMESTAMP '{AS_OF}' - INTERVAL 28 DAY) AS recent_events,
      count(DISTINCT CAST(ts AS DATE)) FILTER (WHERE ts >= TIMESTAMP '{AS_OF}' - INTERVAL 28 DAY) / 4.0 AS active_days_per_week,
      count(DISTINCT event) AS breadth,
      date_diff('second', min(s.start), min(ts) FILTER (WHERE event = 'report_created')) / 86400.0 AS days_to_value,
      count(DISTINCT coalesce(integration, event)) FILTER (WHERE event = 'integration_connected' AND ts < s.start + INTERVAL 30 DAY) AS integrations
    FROM ev JOIN s USING (account_id) GROUP BY ev.account_id
    """
    con = duckdb.connect()
    con.execute("SET memory_limit='2GB'")
    frame = con.sql(sql).pl()
    return {
        "accounts": frame.height,
        "breadth_sum": int(frame["breadth"].sum()),
        "active_users_sum": int(frame["active_users"].sum()),
        "integrations_sum": int(frame["integrations"].sum()),
    }


def child(kind: str, path: str, fmt: str, accounts: int) -> None:
    if kind == "icpkit":  # imports are not the aggregation: load them before the clock starts
        import icpkit.usage.features
        import icpkit.usage.readers  # noqa: F401
    else:
        import duckdb  # noqa: F401
    t0 = time.perf_counter()
    out = (run_icpkit if kind == "icpkit" else run_duckdb)(path, fmt, accounts)
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        kind, path, fmt, accounts = args.child
        child(kind, path, fmt, int(accounts))
        return
    print(f"load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("posthog", "segment"):
            path = Path(tmp) / f"{fmt}.jsonl"
            t0 = time.perf_counter()
            generate(path, fmt, args.events, args.accounts)
            size = path.stat().st_size / 1e9
            print(
                f"{fmt}: {args.events:,} events, {size:.2f} GB written in {time.perf_counter() - t0:.0f} s"
            )
            runs: dict[str, list[dict]] = {"icpkit": [], "duckdb": []}
            for _ in range(args.repeat):
                for kind in ("icpkit", "duckdb"):
                    cmd = [sys.executable, __file__, "--child", kind, str(path), fmt,
                           str(args.accounts)]  # fmt: skip
                    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                    if done.returncode != 0:
                        print(f"  {kind}: failed: {done.stderr.strip().splitlines()[-1:]}")
                        continue
                    r = json.loads(done.stdout.strip().splitlines()[-1])
                    runs[kind].append(r)
                    print(f"  {kind:<7} {r['seconds']:7.1f} s  peak RSS {r['peak_rss_mb']:7.0f} MB  "
                          f"{r['accounts']:,} accounts, breadth sum {r['breadth_sum']:,}, active "
                          f"users {r['active_users_sum']:,}, integrations {r['integrations_sum']:,}")  # fmt: skip
            if runs["icpkit"] and runs["duckdb"]:
                keys = ("accounts", "breadth_sum", "active_users_sum", "integrations_sum")
                same = all(r[k] == runs["duckdb"][0][k] for r in runs["icpkit"] for k in keys)
                summary = {}
                for kind, rs in runs.items():
                    secs = [r["seconds"] for r in rs]
                    rss = max(r["peak_rss_mb"] for r in rs)
                    summary[kind] = (min(secs), statistics.median(secs))
                    print(f"  {kind:<7} best {min(secs):6.1f} s  median "
                          f"{statistics.median(secs):6.1f} s  max peak RSS {rss:5.0f} MB")  # fmt: skip
                print(f"  icpkit / duckdb time: best {summary['icpkit'][0] / summary['duckdb'][0]:.2f}×"
                      f"  median {summary['icpkit'][1] / summary['duckdb'][1]:.2f}×  "
                      f"same sums: {same}")  # fmt: skip
            path.unlink()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
