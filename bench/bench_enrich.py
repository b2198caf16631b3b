"""Enrichment linkage at scale: CRM accounts against a company universe (splink on DuckDB).

The target is 1M CRM accounts against a 10M-company universe. Each scale runs in its own process
(peak memory is that process's max RSS, DuckDB included); the universe and CRM are generated
(random syllable names, domains, countries, founded years, sizes; half the CRM are universe
companies under another spelling, half of those without a domain); the universe is streamed to
Parquet a million rows at a time first, and its generation time is reported apart. Reported per scale: the
linkage time (train + predict + one-to-one), peak memory, and the ratio against a baseline run
in the same process: an exact hash join on normalised domains (polars), the cheapest possible
match. Scales this machine cannot reach are extrapolated from the measured ones, labelled so.

Run: PYTHONPATH=src python bench/bench_enrich.py [--scales 1000:10000,10000:100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SYLLABLES = np.array(
    [
        "ka",
        "lo",
        "mi",
        "ter",
        "va",
        "zen",
        "qui",
        "ro",
        "sa",
        "tek",
        "nor",
        "bel",
        "dra",
        "fi",
        "gal",
        "hu",
        "jor",
        "lum",
        "mar",
        "nex",
        "op",
        "pra",
        "rel",
        "sol",
        "tor",
        "ul",
        "ver",
        "wex",
        "yan",
        "zor",
        "cal",
        "dex",
        "em",
        "fon",
        "gri",
        "hal",
        "ix",
        "jun",
        "kor",
        "lyn",
    ]
)
COUNTRIES = np.array(["US", "GB", "DE", "FR", "NL", "SE", "ES", "IT", "CA", "AU", "JP", "BR"])


def companies(n: int, rng: np.random.Generator, prefix: str, start: int = 0) -> pl.DataFrame:
    parts = SYLLABLES[rng.integers(0, SYLLABLES.size, size=(n, 4))]
    words = np.char.add(
        np.char.add(parts[:, 0], parts[:, 1]), np.char.add(parts[:, 2], parts[:, 3])
    )
    second = SYLLABLES[rng.integers(0, SYLLABLES.size, size=n)]
    names = np.char.add(np.char.add(np.char.capitalize(words), " "), np.char.capitalize(second))
    ids = np.char.add(prefix, np.arange(start, start + n).astype(str))
    return pl.DataFrame(
        {
            "account_id": ids,
            "name": names,
            "domain": np.char.add(np.char.add(words, second), ".com"),
            "country": COUNTRIES[rng.integers(0, COUNTRIES.size, n)],
            "founded_year": rng.integers(1950, 2024, n),
            "employees": np.round(rng.lognormal(4, 1.5, n)),
        }
    )


def universe_parquet(n: int, path: Path, rng: np.random.Generator, chunk: int = 1_000_000) -> None:
    """Stream a synthetic universe of ``n`` companies to Parquet, ``chunk`` rows at a time."""
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, n, chunk):
        table = companies(min(chunk, n - start), rng, "U", start).to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def run_scale(n_crm: int, n_universe: int) -> dict[str, Any]:
    from icpkit.data.normalize import normalise_domains
    from icpkit.enrich.link import best_matches, linkage_frame, predict_pairs

    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "universe.parquet"
        universe_parquet(n_universe, path, rng)
        generated = time.perf_counter() - t0
        universe = pl.read_parquet(path)
    known = universe.sample(n_crm // 2, seed=1)
    drop = pl.Series(rng.random(known.height) < 0.5)
    disguised = known.with_columns(
        pl.col("name").str.to_uppercase(),
        pl.when(drop)
        .then(None)
        .otherwise(pl.concat_str(pl.lit("https://www."), "domain"))
        .alias("domain"),
        pl.concat_str(pl.lit("C"), pl.col("account_id")).alias("account_id"),
    )
    crm = pl.concat([disguised, companies(n_crm - known.height, rng, "N")])
    t0 = time.perf_counter()
    a = crm.with_columns(normalise_domains(crm["domain"]).alias("d"))
    b = universe.with_columns(normalise_domains(universe["domain"]).alias("d"))
    exact = a.join(b, on="d", how="inner").height
    baseline = time.perf_counter() - t0
    del a, b  # the baseline's copies are not the linkage's memory
    t0 = time.perf_counter()
    left = linkage_frame(crm, "account_id", "crm")
    right = linkage_frame(universe, "account_id", "universe")
    pairs, model = predict_pairs(left, right)
    found = best_matches(pairs, 0.9)
    took = time.perf_counter() - t0
    truth = dict(zip(disguised["account_id"].to_list(), known["account_id"].to_list(), strict=True))
    pairs_found = zip(found["id_l"].to_list(), found["id_r"].to_list(), strict=True)
    right_ = sum(1 for a_id, r_id in pairs_found if truth.get(a_id) == r_id)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB on Linux
    return {
        "n_crm": n_crm, "n_universe": n_universe, "seconds": took, "baseline_seconds": baseline,
        "ratio": took / baseline if baseline else float("nan"), "peak_mb": peak,
        "exact_domain_matches": exact, "matched": found.height, "correct": right_,
        "planted": len(truth), "planted_with_domain": int((~drop).sum()),
        "generate_seconds": generated, "pairs_scored": pairs.height,
        "candidates": dict(model.candidates), "skipped": dict(model.skipped),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1000:10000,10000:100000,30000:300000")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        n_crm, n_universe = map(int, args.one.split(":"))
        print(json.dumps(run_scale(n_crm, n_universe)))
        return
    results = []
    for scale in args.scales.split(","):
        done = subprocess.run(
            [sys.executable, __file__, "--one", scale], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            print(f"{scale}: failed ({done.stderr.strip().splitlines()[-1:]})")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(r)
        print(
            f"CRM {r['n_crm']:>9,} × universe {r['n_universe']:>11,}: {r['seconds']:8.1f} s "
            f"({r['ratio']:.0f}× the exact domain join, {r['baseline_seconds']:.2f} s), peak "
            f"{r['peak_mb']:,.0f} MB; matched {r['matched']:,}, {r['correct']:,} of "
            f"{r['planted']:,} planted correct ({r['planted_with_domain']:,} planted keep a domain)",
            flush=True,
        )
        print(
            f"    candidate pairs per name rule {r['candidates']}, CRM rows left out of a rule "
            f"(giant blocks) {r['skipped']}; universe generated in {r['generate_seconds']:.1f} s",
            flush=True,
        )
    if len(results) >= 2:
        # growth between the two largest measured sizes (universe ×k): t ∝ size^exponent
        a, b = results[-2], results[-1]
        step = np.log(b["n_universe"] / a["n_universe"])
        for key in ("seconds", "peak_mb"):
            print(f"measured exponent of {key}: {np.log(b[key] / a[key]) / step:.2f}")
        if b["n_universe"] < 10_000_000:
            for key, unit in (("seconds", "s"), ("peak_mb", "MB")):
                slope = np.log(b[key] / a[key]) / step
                target = b[key] * (10_000_000 / b["n_universe"]) ** slope
                print(
                    f"EXTRAPOLATED (not measured), 1M × 10M at CRM:universe 1:10: {key} ≈ "
                    f"{target:,.0f} {unit} (exponent {slope:.2f})"
                )


if __name__ == "__main__":
    main()
