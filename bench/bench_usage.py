"""Usage features from a large events export: icpkit (polars, streamed) vs the same aggregation
written directly in DuckDB SQL, in the same run (issue 28).

Writes N events for A accounts as a PostHog export and as Segment track calls (JSON lines), then
for each format runs, each in its own child process (so peak RSS is that step's alone):

- icpkit: ``scan_usage`` → ``map_accounts`` → ``usage_features`` (as of one date): DuckDB parses
  the JSON lines once into a Parquet copy, polars detects bots and aggregates over it;
- duckdb: ``read_json`` + one GROUP BY computing the same features (active users, breadth,
  events per user, active days a week, days to value, integrations in the first 30 days).

Prints wall time, CPU time (user + system of the child, DuckDB's and polars' threads included),
peak RSS and the icpkit/duckdb ratios per format (best and median of ``--repeat`` runs, the two
sides alternating so load changes hit both).

    PYTHONPATH=src python bench/bench_usage.py --events 10000000 --accounts 100000 --repeat 3

``--stages`` profiles icpkit's path instead: wall, CPU and peak RSS of each stage (parse = the
sample check and DuckDB's Parquet copy; bots = mapping + the bot pass; features = the feature
group-by; write = the features to Parquet), and with ``--baseline SRC`` the same for another
source tree (e.g. ``git archive`` of main) in alternation:

    PYTHONPATH=src python bench/bench_usage.py --events 2000000 --stages --repeat 2 \
        --baseline /tmp/main/src
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


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_stages(path: str, fmt: str, accounts: int) -> dict:
    """icpkit's path stage by stage: wall, CPU and peak RSS after each."""
    from datetime import date

    from icpkit.config import UsageConfig
    from icpkit.usage.features import bot_users, usage_features
    from icpkit.usage.mapping import map_accounts
    from icpkit.usage.readers import canonical, scan_usage

    stages: dict[str, dict] = {}
    last = [time.perf_counter(), _cpu()]

    def stage(name: str) -> None:
        wall, cpu = time.perf_counter(), _cpu()
        stages[name] = {
            "wall": wall - last[0],
            "cpu": cpu - last[1],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        last[:] = [wall, cpu]

    ids = pl.DataFrame({"account_id": [f"A{a:06d}" for a in range(accounts)]})
    settings = UsageConfig.model_validate(
        {"value_events": ["report_created"], "integration_events": ["integration_connected"]}
    )
    scanned = scan_usage(Path(path), fmt)
    stage("parse")
    events = map_accounts(canonical(scanned), ids, by_email_domain=False)
    mapped = events.filter(pl.col("account_id").is_not_null() & pl.col("timestamp").is_not_null())
    bot_users(mapped, settings.bot_events_per_minute).collect(engine="streaming")
    stage("map+bots")
    result = usage_features(events, settings, as_of=date.fromisoformat(AS_OF), exclude_bots=False)
    stage("features")
    with tempfile.TemporaryDirectory() as tmp:
        result.frame.write_parquet(Path(tmp) / "features.parquet")
    stage("write")
    return {"stages": stages, "breadth_sum": int(result.frame["usage_breadth"].sum())}


def child(kind: str, path: str, fmt: str, accounts: int) -> None:
    if kind in ("icpkit", "stages"):  # imports are not the aggregation: load them first
        import icpkit.usage.features
        import icpkit.usage.readers  # noqa: F401
    else:
        import duckdb  # noqa: F401
    t0, c0 = time.perf_counter(), _cpu()
    run = {"icpkit": run_icpkit, "duckdb": run_duckdb, "stages": run_stages}[kind]
    out = run(path, fmt, accounts)
    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = _cpu() - c0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _child(kind: str, path: Path, fmt: str, accounts: int, src: str | None = None) -> dict | None:
    env = dict(os.environ)
    if src is not None:  # the baseline tree's icpkit instead of this one's
        env["PYTHONPATH"] = os.pathsep.join([src, *env.get("PYTHONPATH", "").split(os.pathsep)])
    cmd = [sys.executable, __file__, "--child", kind, str(path), fmt, str(accounts)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        print(f"  {kind}: failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _export(folder: Path, fmt: str, events: int, accounts: int) -> Path:
    path = folder / f"{fmt}-{events}-{accounts}.jsonl"
    if not path.is_file():  # reused when --data names a folder that already holds it
        t0 = time.perf_counter()
        generate(path, fmt, events, accounts)
        print(f"{fmt}: {events:,} events written in {time.perf_counter() - t0:.0f} s")
    print(f"{fmt}: {events:,} events, {path.stat().st_size / 1e9:.2f} GB ({path.name})")
    return path


def _stages(path: Path, fmt: str, args: argparse.Namespace) -> None:
    sides = {"this tree": None, **({"baseline": args.baseline} if args.baseline else {})}
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for _ in range(args.repeat):
        for side, src in sides.items():
            if (r := _child("stages", path, fmt, args.accounts, src)) is not None:
                runs[side].append(r)
                cells = "  ".join(
                    f"{name} {v['wall']:6.1f}/{v['cpu']:5.1f} s {v['peak_rss_mb']:5.0f} MB"
                    for name, v in r["stages"].items()
                )
                print(f"  {side:<9} wall/CPU, peak RSS: {cells}  total CPU "
                      f"{r['cpu_seconds']:.1f} s  breadth {r['breadth_sum']:,}")  # fmt: skip
    if len(runs) == 2 and all(runs.values()):
        for name in runs["this tree"][0]["stages"]:
            best = {s: min(r["stages"][name]["cpu"] for r in rs) for s, rs in runs.items()}
            ratio = best["baseline"] / best["this tree"] if best["this tree"] else float("nan")
            print(f"  {name:<9} best CPU baseline {best['baseline']:6.2f} s, this tree "
                  f"{best['this tree']:6.2f} s ({ratio:.2f}×)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--formats", default="posthog,segment")
    parser.add_argument("--data", help="folder for the generated exports (kept and reused)")
    parser.add_argument("--stages", action="store_true", help="profile icpkit's stages")
    parser.add_argument("--baseline", help="with --stages: another tree's src/ to compare")
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        kind, path, fmt, accounts = args.child
        child(kind, path, fmt, int(accounts))
        return
    print(f"load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.data) if args.data else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for fmt in args.formats.split(","):
            path = _export(folder, fmt, args.events, args.accounts)
            if args.stages:
                _stages(path, fmt, args)
                continue
            runs: dict[str, list[dict]] = {"icpkit": [], "duckdb": []}
            for _ in range(args.repeat):
                for kind in ("icpkit", "duckdb"):
                    if (r := _child(kind, path, fmt, args.accounts)) is None:
                        continue
                    runs[kind].append(r)
                    print(f"  {kind:<7} {r['seconds']:7.1f} s  CPU {r['cpu_seconds']:6.1f} s  "
                          f"peak RSS {r['peak_rss_mb']:6.0f} MB  {r['accounts']:,} accounts, "
                          f"breadth sum {r['breadth_sum']:,}, active users "
                          f"{r['active_users_sum']:,}, integrations {r['integrations_sum']:,}  "
                          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
            if runs["icpkit"] and runs["duckdb"]:
                keys = ("accounts", "breadth_sum", "active_users_sum", "integrations_sum")
                same = all(r[k] == runs["duckdb"][0][k] for r in runs["icpkit"] for k in keys)
                summary = {}
                for kind, rs in runs.items():
                    secs = [r["seconds"] for r in rs]
                    cpus = [r["cpu_seconds"] for r in rs]
                    rss = max(r["peak_rss_mb"] for r in rs)
                    summary[kind] = (min(secs), statistics.median(secs), min(cpus),
                                     statistics.median(cpus))  # fmt: skip
                    print(f"  {kind:<7} wall best {min(secs):6.1f} s  median "
                          f"{statistics.median(secs):6.1f} s  CPU best {min(cpus):6.1f} s  "
                          f"median {statistics.median(cpus):6.1f} s  max peak RSS {rss:5.0f} MB")  # fmt: skip
                a, b = summary["icpkit"], summary["duckdb"]
                print(f"  icpkit / duckdb: wall best {a[0] / b[0]:.2f}×  median {a[1] / b[1]:.2f}×"
                      f"  CPU best {a[2] / b[2]:.2f}×  median {a[3] / b[3]:.2f}×  "
                      f"same sums: {same}")  # fmt: skip
            if not args.data:
                path.unlink()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
