"""Intent scoring speed: N signals over M accounts → intent_score, band and "why now" per account.

The weights and decays are learned in-process from a synthetic CRM (2,000 accounts), then applied
to a large synthetic signals table (5 types, three years of dates, values of every known shape).
Measured, each in a fresh child process so its peak memory (max RSS) is its own:

* ``icpkit``: ``intent_scores`` on prepared events (the target: 10M signals, 1M accounts < 30 s);
* ``icpkit+intake``: ``prepare_signals`` (keying, dates, de-duplication, value parsing) then scoring;
* ``numpy``: a hand-written numpy baseline of the scores alone (sort, latest per account and type,
  kernel, product per account), with no reasons and no intake.

    uv run --frozen python bench/bench_signals.py                       # 10M signals, 1M accounts
    uv run --frozen python bench/bench_signals.py --signals 1000000 --accounts 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

CACHE = Path(tempfile.gettempdir()) / "icpkit_bench_signals"
TYPES = ("funding", "hiring", "leadership_change", "tech_adoption", "web_visit")
VALUES = {
    "funding": ["Series A $8M", "Series B $25M", "Seed $2M"],
    "hiring": ["Data Engineer (+5 open roles)", "SDR (+10 open roles)"],
    "leadership_change": ["new CRO", "new CTO"],
    "tech_adoption": ["Snowflake", "dbt"],
    "web_visit": ["pricing page", "docs"],
}
AS_OF = date(2025, 12, 31)


def make_signals(n_signals: int, n_accounts: int) -> Path:
    """The signals table as Parquet (account_id, date, type, value), written once and cached."""
    path = CACHE / f"signals_{n_signals}_{n_accounts}.parquet"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    kind = rng.choice(len(TYPES), n_signals, p=[0.1, 0.25, 0.1, 0.15, 0.4])
    value_index = rng.integers(0, 2, n_signals)
    vocabulary = pl.DataFrame(
        [{"type": t, "vi": i, "value": v} for t, vs in VALUES.items() for i, v in enumerate(vs)],
        schema={"type": pl.Utf8, "vi": pl.Int64, "value": pl.Utf8},
    )
    frame = (
        pl.DataFrame(
            {
                "account": rng.integers(0, n_accounts, n_signals),
                "day": rng.integers(0, 3 * 365, n_signals),
                "type": pl.Series(TYPES).gather(kind),
                "vi": value_index,
            }
        )
        .join(vocabulary, on=["type", "vi"], how="left", maintain_order="left")
        .select(
            account_id=pl.lit("A") + pl.col("account").cast(pl.Utf8).str.zfill(7),
            date=pl.lit(date(2023, 1, 1)) + pl.duration(days=pl.col("day")),
            type=pl.col("type"),
            value=pl.col("value"),
        )
    )
    frame.write_parquet(path)
    return path


def learned_section() -> Any:
    from icpkit.config import SignalsConfig
    from icpkit.datasets import make_crm
    from icpkit.signals import learn_signals

    crm = make_crm(2000, seed=7)
    tiers = crm.truth_frame().select(
        "account_id", tier=pl.when("in_icp").then(pl.lit("Tier 1")).otherwise(pl.lit("Tier 2"))
    )
    return learn_signals(crm.to_crm_data(), tiers, SignalsConfig())


def _accounts(n_accounts: int) -> pl.DataFrame:
    ids = pl.select(
        pl.lit("A") + pl.int_range(0, n_accounts).cast(pl.Utf8).str.zfill(7)
    ).to_series()
    return pl.DataFrame({"account_id": ids})


def run_icpkit(path: Path, section: Any, n_accounts: int, intake: bool) -> dict[str, Any]:
    from icpkit.config import SignalsConfig
    from icpkit.signals import prepare_signals
    from icpkit.signals.intent import intent_scores

    raw = pl.read_parquet(path)
    accounts = _accounts(n_accounts)
    start = time.perf_counter()
    if intake:
        events: Any = prepare_signals(raw, accounts, AS_OF)
    else:
        events = raw
    scores = intent_scores(section, events, AS_OF, SignalsConfig(), accounts["account_id"])
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "hot": int((scores["intent"] == "hot").sum()),
        "mean_score": float(scores["intent_score"].mean() or 0.0),
        "rows": scores.height,
    }


def run_numpy(path: Path, section: Any, n_accounts: int) -> dict[str, Any]:
    raw = pl.read_parquet(path, columns=["account_id", "date", "type"])
    account = raw["account_id"].str.slice(1).cast(pl.Int64).to_numpy()
    day = raw["date"].cast(pl.Int64).to_numpy()
    names = list(TYPES)
    kind = raw["type"].cast(pl.Enum(names)).to_physical().to_numpy()
    start = time.perf_counter()
    as_of = (AS_OF - date(1970, 1, 1)).days
    log_lift = np.zeros(n_accounts)
    for t in section.triggers():
        if t.type not in names:
            continue
        keep = (kind == names.index(t.type)) & (day <= as_of) & (as_of - day <= 365)
        latest = np.full(n_accounts, -1 << 40)
        np.maximum.at(latest, account[keep], day[keep])
        age = (as_of - latest).astype(float)
        if t.decay == "exponential":
            weight = np.exp2(-age / t.half_life_days)
        else:
            weight = (age <= t.window_days).astype(float)
        weight[latest < 0] = 0.0
        lift = (1 + (t.peak_opening_ratio - 1) * weight) * t.peak_win_odds_ratio**weight
        log_lift += np.log(lift)
    score = np.clip(100 * (1 - np.exp(-log_lift)), 0, 100)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "hot": int((score >= 50).sum()), "mean_score": float(score.mean())}


def _method(name: str, args: tuple[Any, ...]) -> dict[str, Any]:
    if name == "numpy":
        result = run_numpy(*args)
    else:
        result = run_icpkit(*args, intake=name == "icpkit+intake")
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def measure(name: str, options: argparse.Namespace, section_file: Path) -> dict[str, Any]:
    """Run one method in a fresh interpreter (its own peak memory; polars is not fork-safe)."""
    command = [sys.executable, __file__, "--method", name, "--section", str(section_file),
               "--signals", str(options.signals), "--accounts", str(options.accounts)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--signals", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--method", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--section", default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    path = make_signals(options.signals, options.accounts)
    if options.method:
        from icpkit.profile import SignalsSection

        section = SignalsSection.model_validate_json(Path(options.section).read_text())
        print(json.dumps(_method(options.method, (path, section, options.accounts))))
        return
    section = learned_section()
    section_file = CACHE / "section.json"
    section_file.write_text(section.model_dump_json())
    triggers = [(t.type, t.decay, t.half_life_days, t.window_days) for t in section.triggers()]
    print("triggers:", triggers)
    print(f"{options.signals:,} signals, {options.accounts:,} accounts; "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    results = {name: measure(name, options, section_file)
               for name in ("numpy", "icpkit", "icpkit+intake")}  # fmt: skip
    base = results["numpy"]["seconds"]
    for name, r in results.items():
        print(f"{name:>14}: {r['seconds']:7.2f} s  ({r['seconds'] / base:5.1f}× numpy)  "
              f"max RSS {r['max_rss_mb']:,.0f} MB  hot {r['hot']:,}  mean {r['mean_score']:.2f}")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
