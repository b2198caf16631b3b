"""A year of monthly `icpkit refresh` runs on a synthetic CRM whose ICP drifts half-way.

Prints, month by month, what the promotion gate did and how each candidate compares with the
champion on the planted truth (true AUC on fresh accounts), then the counts: promoted, rejected,
worse candidates promoted (must be 0); whether a rollback restores the old version's scores; how
many alerts reached a local webhook and whether any carried a contact's name or e-mail; and the
time of a promote/rollback against a plain version read in the same process.

Run: PYTHONPATH=src python bench/refresh_year.py [--accounts 1000] [--seed 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from icpkit.lifecycle.store import Store
from icpkit.refresh.live import promote, rollback
from icpkit.refresh.simulate import simulate
from webhook import webhook_receiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, webhook_receiver() as hook:
        folder = Path(tmp) / "ws"
        start = time.perf_counter()
        result = simulate(folder, n_accounts=args.accounts, seed=args.seed, alert_urls=hook.url)
        elapsed = time.perf_counter() - start
        for line in result.lines():
            print(line)
        import polars as pl

        contacts = pl.read_parquet(folder / "contacts.parquet")
        text = "\n".join(hook.texts())
        leaked = [v for v in [*contacts["name"], *contacts["email"]] if v and v in text]
        print(f"webhook received {len(hook.posts)} posts; contact names/e-mails in them: "
              f"{len(leaked)}")  # fmt: skip
        # promote/rollback time vs a plain read of one version, same process
        store = Store(folder)
        live = store.live()
        other = next(v.version for v in store.list() if v.version != live)
        reads = []
        moves = []
        for _ in range(20):
            t = time.perf_counter()
            store.get(live)
            reads.append(time.perf_counter() - t)
            t = time.perf_counter()
            promote(folder, other, who="bench")
            rollback(folder, live, who="bench")
            moves.append((time.perf_counter() - t) / 2)
        read_ms = sorted(reads)[len(reads) // 2] * 1000
        move_ms = sorted(moves)[len(moves) // 2] * 1000
        print(f"median promote/rollback {move_ms:.1f} ms vs version read {read_ms:.1f} ms "
              f"(ratio {move_ms / read_ms:.1f}x)")  # fmt: skip
        print(f"simulation wall time {elapsed:.0f} s")
        if args.json:
            args.json.write_text(json.dumps(result.to_dict(), indent=2, default=str))


if __name__ == "__main__":
    main()
