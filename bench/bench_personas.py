"""Persona speed: title classification and the persona analysis at CRM scale.

1. ``classify_titles`` on 1M contacts holding 200k distinct titles (the generator's surface forms
   with regions, teams, grades and casing added), against a baseline run in this same script: a
   polars pass that only cleans (lower-case, strip accents and punctuation) and de-duplicates
   the same titles — the floor any title reader pays.
2. ``find_personas`` on 1M contacts × 300k closed deals (classification, linking, committee,
   forward-chosen Mantel–Haenszel over every persona), against a baseline: a polars crude win
   rate per already-known persona label (one group-by, no classification, no strata).

Each method runs in a fresh child process, so its peak memory (max RSS) is its own; its CPU
seconds (process time, data loading included) are printed beside the wall time, because on a
shared, loaded machine the wall time mostly measures the other jobs.

    uv run --frozen python bench/bench_personas.py
    uv run --frozen python bench/bench_personas.py --contacts 200000 --deals 60000 --titles 40000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path(tempfile.gettempdir()) / "icpkit_bench_personas"
EXTRAS = ("EMEA", "DACH", "APAC", "North America", "II", "III", "(interim)", "- Acting",
          "Platform", "Payments", "Growth", "Enterprise", "Mid-Market", "Benelux", "Iberia")  # fmt: skip


def make_data(contacts: int, deals: int, titles: int) -> Path:
    """contacts.parquet (deal_id, account_id, title, true_persona) and deals.parquet, cached."""
    import polars as pl

    from icpkit.datasets.synthetic.titles import TITLE_FORMS

    folder = CACHE / f"{contacts}_{deals}_{titles}_words"
    if (folder / "deals.parquet").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    forms = [(t, f"{f} {b}") for (f, b), ts in TITLE_FORMS.items() for t in ts]
    # Distinct titles differ by words, as in a CRM: regions, grades and made-up team or product
    # names ("Head of Sales, EMEA Zorvat"), never just by a number.
    letters = np.array(list("abcdefghiklmnoprstuvz"))
    names = ["".join(rng.choice(letters, 6)).capitalize() for _ in range(3000)]
    pool: dict[str, str] = {}
    while len(pool) < titles:
        base, label = forms[rng.integers(len(forms))]
        extra = " ".join(rng.choice(EXTRAS, rng.integers(0, 3), replace=False))
        title = f"{base}, {extra} {names[rng.integers(len(names))]}".replace(",  ", ", ")
        pool[title.lower() if rng.random() < 0.2 else title] = label
    distinct = np.array(list(pool))
    labels = np.array(list(pool.values()))
    weight = 1 / np.arange(1, len(distinct) + 1) ** 0.7
    pick = rng.choice(len(distinct), contacts, p=weight / weight.sum())
    pick[: len(distinct)] = np.arange(len(distinct))  # every distinct title occurs
    deal = rng.integers(0, deals, contacts)
    finance = np.char.startswith(labels[pick].astype(str), "Finance director+")
    won_p = np.full(deals, 0.25)
    np.maximum.at(won_p, deal[finance], 0.5)
    won = rng.random(deals) < won_p
    pl.DataFrame(
        {
            "deal_id": [f"D{d}" for d in range(deals)],
            "account_id": [f"A{d // 2}" for d in range(deals)],
            "stage": np.where(won, "won", "lost"),
        }
    ).write_parquet(folder / "deals.parquet")
    pl.DataFrame(
        {
            "contact_id": [f"C{i}" for i in range(contacts)],
            "deal_id": [f"D{d}" for d in deal],
            "account_id": [f"A{d // 2}" for d in deal],
            "title": distinct[pick],
            "true_persona": labels[pick],
        }
    ).write_parquet(folder / "contacts.parquet")
    return folder


def run_classify(folder: Path) -> dict[str, Any]:
    import polars as pl

    from icpkit.personas import classify_titles

    titles = pl.read_parquet(folder / "contacts.parquet", columns=["title"])["title"]
    start = time.perf_counter()
    out = classify_titles(titles)
    seconds = time.perf_counter() - start
    return {"rows": out.height, "distinct": titles.n_unique(), "seconds": seconds}


def run_clean_baseline(folder: Path) -> dict[str, Any]:
    import polars as pl

    from icpkit.personas.lexicon import clean_titles

    titles = pl.read_parquet(folder / "contacts.parquet", columns=["title"])["title"]
    start = time.perf_counter()
    uniques = titles.unique()
    cleaned = clean_titles(uniques).unique()
    seconds = time.perf_counter() - start
    return {"rows": titles.len(), "distinct": cleaned.len(), "seconds": seconds}


def run_personas(folder: Path) -> dict[str, Any]:
    import polars as pl

    from icpkit.personas.analysis import find_personas

    contacts = pl.read_parquet(folder / "contacts.parquet").drop("true_persona")
    deals = pl.read_parquet(folder / "deals.parquet")
    start = time.perf_counter()
    section = find_personas(contacts, deals)
    seconds = time.perf_counter() - start
    top = section.top(1)
    return {
        "rows": contacts.height,
        "deals": section.n_deals,
        "seconds": seconds,
        "top": f"{top[0].persona} {top[0].lift:.2f}" if top and top[0].lift else "none",
    }


def run_crude_baseline(folder: Path) -> dict[str, Any]:
    import polars as pl

    contacts = pl.read_parquet(folder / "contacts.parquet", columns=["deal_id", "true_persona"])
    deals = pl.read_parquet(folder / "deals.parquet")
    start = time.perf_counter()
    rates = (
        contacts.unique()
        .join(deals.select("deal_id", won=pl.col("stage") == "won"), on="deal_id")
        .group_by("true_persona")
        .agg(pl.col("won").mean(), pl.len())
    )
    seconds = time.perf_counter() - start
    return {"rows": contacts.height, "deals": deals.height, "seconds": seconds, "top": rates.height}


METHODS = {
    "classify_titles": run_classify,
    "clean + unique (baseline)": run_clean_baseline,
    "find_personas": run_personas,
    "crude win rate per label (baseline)": run_crude_baseline,
}


def _child(name: str, folder: Path, queue: Any) -> None:
    import polars  # noqa: F401  (libraries are imported before the clock starts)

    import icpkit.personas.analysis  # noqa: F401

    cpu = time.process_time()
    result = METHODS[name](folder)
    # CPU seconds of all the process's threads, loading included: under a loaded machine the
    # wall time is inflated, this is not (on 2 idle cores the wall time lies between cpu/2 and cpu).
    result["cpu_s"] = round(time.process_time() - cpu, 1)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(result)


def measure(name: str, folder: Path) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, folder, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--deals", type=int, default=300_000)
    parser.add_argument("--titles", type=int, default=200_000)
    args = parser.parse_args()
    # The data is made in a child process: a child's peak memory (max RSS) survives exec, so the
    # parent must stay small for the children's figures to be their own.
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        folder = pool.apply(make_data, (args.contacts, args.deals, args.titles))
    print(f"load average {os.getloadavg()[0]:.1f}; data in {folder}")
    results = {name: measure(name, folder) for name in METHODS}
    for name, r in results.items():
        print(
            f"{name:40s} {r['seconds']:7.2f} s  peak {r['peak_mb']:7.0f} MB  "
            + "  ".join(f"{k}={v}" for k, v in r.items() if k not in ("seconds", "peak_mb"))
        )
    classify, clean = results["classify_titles"], results["clean + unique (baseline)"]
    personas, crude = results["find_personas"], results["crude win rate per label (baseline)"]
    print(f"classify_titles / clean baseline: {classify['seconds'] / clean['seconds']:.1f}×")
    print(f"find_personas / crude baseline:   {personas['seconds'] / crude['seconds']:.1f}×")


if __name__ == "__main__":
    main()
