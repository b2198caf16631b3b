"""Sync throughput against the in-process fake CRMs (tests/fakes): records/s, API calls per 1,000
records, peak memory, and the incremental run after 1% of the records changed.

Baseline, in the same process: the same fake server paged by a bare httpx client that only
decodes the JSON (no staging, no Parquet, no merge, no rate limiter), so the ratio is the cost of
making the sync durable and resumable rather than the fake server's own speed.

Usage: python bench/bench_sync.py [--accounts 6000] [--crm hubspot|salesforce|both]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from fakes.base import FakeClock  # noqa: E402
from fakes.hubspot import FakeHubSpot  # noqa: E402
from fakes.salesforce import FakeSalesforce  # noqa: E402
from fakes.seed import load_hubspot, load_salesforce  # noqa: E402
from icpkit.datasets import make_crm  # noqa: E402
from icpkit.sync import sync_workspace  # noqa: E402


def bare_pages(kind: str, fake: Any) -> tuple[int, int, float]:
    """Records and calls of paging every object with a bare client: the baseline."""
    client = httpx.Client(transport=fake.transport(), base_url="http://crm.test")
    headers = {"Authorization": f"Bearer {fake.token}"}
    start, records, calls = time.perf_counter(), 0, 0
    if kind == "hubspot":
        props = {"companies": "name,domain,industry,numberofemployees,annualrevenue,country",
                 "deals": "dealstage,amount,closedate,hs_is_closed_won,hs_is_closed",
                 "contacts": "jobtitle"}  # fmt: skip
        for kind_name, prop in props.items():
            after = None
            while True:
                params = {"limit": 100, "properties": prop, "associations": "companies"}
                params |= {"after": after} if after else {}
                page = client.get(f"/crm/v3/objects/{kind_name}", params=params, headers=headers)
                answer, calls = page.json(), calls + 1
                records += len(answer["results"])
                after = (answer.get("paging") or {}).get("next", {}).get("after")
                if not after:
                    break
    else:
        for obj, fields in (("Account", "Name, Industry, NumberOfEmployees"),
                            ("Opportunity", "AccountId, StageName, IsWon, Amount"),
                            ("Contact", "AccountId, Title")):  # fmt: skip
            answer = client.get("/services/data/v59.0/query", headers=headers,
                                params={"q": f"SELECT Id, {fields} FROM {obj} ORDER BY Id"}).json()  # fmt: skip
            calls += 1
            records += len(answer["records"])
            while not answer["done"]:
                answer = client.get(answer["nextRecordsUrl"], headers=headers).json()
                calls += 1
                records += len(answer["records"])
    return records, calls, time.perf_counter() - start


def edit(kind: str, fake: Any, share: float, rng: random.Random) -> int:
    if kind == "hubspot":
        ids = fake.live_ids("companies") + fake.live_ids("deals")
        chosen = rng.sample(ids, int(len(ids) * share))
        for rid in chosen:
            fake.edit("companies" if int(rid) in fake.objects["companies"] else "deals", rid,
                      amount=1)  # fmt: skip
    else:
        ids = [("Account", r) for r in fake.objects["Account"]]
        ids += [("Opportunity", r) for r in fake.objects["Opportunity"]]
        chosen = rng.sample(ids, int(len(ids) * share))
        for obj, rid in chosen:
            fake.edit(obj, rid, Amount=1.0)
    return len(chosen)


def bench(kind: str, accounts: int) -> None:
    crm = make_crm(accounts, seed=3)
    clock = FakeClock()
    fake: Any = FakeHubSpot(clock=clock) if kind == "hubspot" else FakeSalesforce(clock=clock)
    (load_hubspot if kind == "hubspot" else load_salesforce)(fake, crm)
    base_records, base_calls, base_s = bare_pages(kind, fake)
    with tempfile.TemporaryDirectory() as folder:
        ws = Path(folder)
        run = dict(token=fake.token, base_url="http://crm.test", transport=fake.transport(),
                   sleep=clock.sleep, clock=clock)  # fmt: skip
        start = time.perf_counter()
        full = sync_workspace(ws, kind, **run)  # type: ignore[arg-type]
        full_s = time.perf_counter() - start
        tracemalloc.start()  # a second full sync into another folder, for memory only
        sync_workspace(ws / "memory", kind, **run)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        changed = edit(kind, fake, 0.01, random.Random(1))
        start = time.perf_counter()
        inc = sync_workspace(ws, kind, **run)  # type: ignore[arg-type]
        inc_s = time.perf_counter() - start
    n = full.records
    print(
        f"\n{kind}: {n:,} records ({accounts:,} accounts), {base_records:,} paged by the baseline"
    )
    print(f"  full sync      {full_s:6.2f} s  {n / full_s:9,.0f} records/s  "
          f"{full.api_calls:5,} calls = {1000 * full.api_calls / n:5.1f} per 1,000 records")  # fmt: skip
    print(f"  bare paging    {base_s:6.2f} s  {base_records / base_s:9,.0f} records/s  "
          f"{base_calls:5,} calls = {1000 * base_calls / base_records:5.1f} per 1,000 records")  # fmt: skip
    print(f"  sync / bare    {full_s / base_s:6.2f}× the time")
    print(f"  incremental    {inc_s:6.2f} s  after {changed:,} edits: {inc.api_calls:,} calls "
          f"({inc.api_calls / full.api_calls:.1%} of the full sync's), "
          f"{sum(o.updated for o in inc.objects):,} updated")  # fmt: skip
    print(f"  peak memory    {peak / 2**20:6.1f} MB Python heap during the full sync (tracemalloc); "
          f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=6000)
    parser.add_argument("--crm", choices=["hubspot", "salesforce", "both"], default="both")
    args = parser.parse_args()
    for kind in ("hubspot", "salesforce") if args.crm == "both" else (args.crm,):
        bench(kind, args.accounts)


if __name__ == "__main__":
    main()
