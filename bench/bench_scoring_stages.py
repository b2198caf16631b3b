"""CPU per stage of bulk scoring on one thread (pyarrow's pools set to 1), per row: the bare
read of the columns scoring reads (the floor), typing, score, tier, reasons (codes, picks,
text), and writing score + tier or every score column with reasons.

    PYTHONPATH=src python bench/bench_scoring_stages.py            # bench_scoring's 10M rows
    PYTHONPATH=src python bench/bench_scoring_stages.py 2000000
    PYTHONPATH=src python bench/bench_scoring_stages.py 10000000 100000   # batches of 100k rows
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    import bench_scoring as b

    from icpkit.data.readers import read_batches
    from icpkit.data.writers import parquet_writer
    from icpkit.scoring import explain
    from icpkit.scoring.apply import OUTPUT_COLUMNS, ScoringPlan
    from icpkit.scoring.bulk import resolve_columns, type_batch
    from icpkit.vocab import TIERS

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 500_000
    src = b.make_parquet(rows)
    plan = ScoringPlan.from_profile(b.make_profile(src))
    card = plan.card
    cpu: dict[str, float] = {}

    def tick(name: str, start: float) -> float:
        cpu[name] = cpu.get(name, 0.0) + time.process_time() - start
        return time.process_time()

    columns, _ = resolve_columns(plan, read_batches(src, arrow=True).columns)
    needed = ["account_id", *columns.origin.values()]
    out = Path(tempfile.mkdtemp())
    writers: list[pq.ParquetWriter] = []
    n = 0
    for raw in read_batches(src, arrow=True, columns=needed, batch_rows=batch).batches:
        t = time.process_time()
        typed = type_batch(columns, raw)
        t = tick("typing (normaliser on the dictionaries)", t)
        scores = card.score_only(typed, parallel=False)
        t = tick("score only", t)
        tier = plan.tiers(scores, plan.masks(typed))
        t = tick("tier", t)
        codes, _ = card.codes_and_points(typed, parallel=False)
        t = tick("reasons: codes and points", t)
        picks = explain.ranked_picks(codes, card, explain.TOP, False)
        t = tick("reasons: top-3 picks", t)
        explain._joined_reasons(explain.reason_table(card)[0], picks)
        t = tick("reasons: text", t)
        full = plan.score_table(typed, outputs=OUTPUT_COLUMNS, parallel=False)
        tick("every score column with reasons (score_table)", t)
        short = pa.table(
            {
                "account_id": raw.column("account_id"),
                "fit_score": pa.array(scores),
                "tier": pa.DictionaryArray.from_arrays(pa.array(tier), pa.array(TIERS)),
            }
        )
        wide = pa.table(
            [raw.column("account_id"), *full.columns], names=["account_id", *full.column_names]
        )
        if not writers:
            writers = [
                parquet_writer(out / "short.parquet", short.schema),
                parquet_writer(out / "wide.parquet", wide.schema),
            ]
        t = time.process_time()
        writers[0].write_table(short)
        t = tick("write account_id + score + tier", t)
        writers[1].write_table(wide)
        tick("write account_id + every score column with reasons", t)
        n += raw.num_rows
    for writer in writers:
        writer.close()
    t = time.process_time()
    text = [f.column for f in card.features if f.kind == "categorical"]
    handle = pq.ParquetFile(str(src), read_dictionary=text, pre_buffer=False, buffer_size=1 << 20)
    for _ in handle.iter_batches(batch_size=batch, columns=needed):
        pass
    tick("read: pyarrow bare read of the same columns", t)
    for name, seconds in cpu.items():
        print(f"  {name:52s} {seconds:6.2f} s CPU {seconds / n * 1e9:6.1f} ns/row")


if __name__ == "__main__":
    main()
