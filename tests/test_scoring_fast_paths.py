"""The bulk-scoring fast paths give exactly what the plain computations give.

Each fast path (tiled binning on Arrow buffers, reasons gathered from a table of pieces, the typed-dictionary cache, numbers passed through the normaliser,
batches scored on threads in order) is checked against a slow, obvious version of itself. (The streaming top-k reason picks are
checked against a plain sort in test_scoring.py.)
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import scoring_reference
from icpkit.data.prospects import ProspectColumns
from icpkit.scoring import binning, explain
from icpkit.scoring.bulk import in_order


def _plain_codes(values: list[float | None], cuts: np.ndarray) -> np.ndarray:
    out = []
    for v in values:
        if v is None or np.isnan(v):
            out.append(len(cuts) + 1)
        else:
            out.append(int(np.sum(v >= cuts)))
    return np.array(out)


@pytest.mark.parametrize("n_cuts", [0, 1, 5, 16, 17, 40])  # comparisons, then searchsorted
def test_tiled_binning_equals_counting_cuts(n_cuts: int) -> None:
    rng = np.random.default_rng(n_cuts)
    n = binning.TILE * 2 + 123  # several tiles and a short last one
    values: list[float | None] = list(rng.normal(0, 10, n))
    for i in rng.choice(n, 500, replace=False):
        values[i] = None if i % 2 else float("nan")
    cuts = np.sort(rng.normal(0, 10, n_cuts))
    if n_cuts:
        values[7] = float(cuts[0])  # a value on a cut falls in the bin above it
    array = pa.array(values, pa.float64())
    want = _plain_codes(values, cuts)
    table = np.arange(n_cuts + 2, dtype=np.int16) * 3 - 5
    codes, points = binning._binned(array, cuts, table)
    assert codes is not None and points is not None
    assert np.array_equal(codes, want)
    assert np.array_equal(points, table[want])
    # a slice (its buffers start before it) and a chunked column read the same
    part = array.slice(1001, 40_000)
    assert np.array_equal(binning._numeric_codes(part, cuts), want[1001:41_001])
    chunked = pa.chunked_array([array.slice(0, 5000), array.slice(5000)])
    assert np.array_equal(binning._numeric_points(chunked, cuts, table), table[want])


def test_binning_reads_integers_dates_and_empty_columns() -> None:
    cuts = np.array([10.0, 2000.0])
    ints = pa.array([5, None, 10, 3000], pa.int32())
    assert binning._numeric_codes(ints, cuts).tolist() == [0, 3, 1, 2]
    days = pa.array([date(1999, 5, 1), None, date(2021, 1, 1)], pa.date32())
    assert binning._numeric_codes(days, cuts).tolist() == [1, 3, 2]
    assert binning._numeric_codes(pa.nulls(4, pa.float64()), cuts).tolist() == [3] * 4
    assert binning._numeric_codes(pa.array([], pa.float64()), cuts).tolist() == []


@pytest.mark.parametrize("pair_table", [explain._PAIR_TABLE, 0])  # pairs of pieces, or single
@pytest.mark.parametrize("slots", [6, 3])
def test_joined_reasons_equal_a_row_by_row_join(
    pair_table: int, slots: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explain, "_PAIR_TABLE", pair_table)
    texts = [f"reason {i} (+{i % 5})" for i in range(40)] + ["naïve — ünïcode (−2)"]
    none = len(texts)
    rng = np.random.default_rng(slots)
    n = 5000
    picks = [np.where(rng.random(n) < 0.4, none, rng.integers(0, none, n)) for _ in range(slots)]
    picks[0][:10] = none  # rows whose first reasons are missing: no leading separator
    for p in picks:
        p[10:20] = none  # rows with no reason at all
    got = explain._joined_reasons(texts, picks).to_pylist()
    want = [explain.SEPARATOR.join(texts[p[i]] for p in picks if p[i] != none) for i in range(n)]
    assert got == want
    assert got[10:20] == [""] * 10


def test_typed_dictionary_is_reused_for_the_same_words_in_another_order() -> None:
    columns = ProspectColumns.resolve(["industry"], {"industry": "categorical"}, file="x")
    first = pa.table({"industry": pa.array([" Software ", "n/a", "Retail"]).dictionary_encode()})
    words = pa.array(["Retail", " Software ", "n/a"])  # the same words, reordered
    second = pa.table(
        {"industry": pa.DictionaryArray.from_arrays(pa.array([1, 0, 2, 0], pa.int32()), words)}
    )
    columns.normalise_arrow(first)
    cached = columns.normalise_arrow(second).column("industry").to_pylist()
    fresh = ProspectColumns.resolve(["industry"], {"industry": "categorical"}, file="x")
    assert cached == fresh.normalise_arrow(second).column("industry").to_pylist()
    assert cached == ["Software", "Retail", None, "Retail"]


@pytest.mark.parametrize(
    "array",
    [
        pa.array([1.5, None, float("nan"), -3.0, 1e300]),
        pa.array([1, None, 7], pa.int64()),
        pa.array([1, 2, 3], pa.uint8()),
        pa.array([0.5, None], pa.float32()),
    ],
)
def test_numbers_pass_through_the_normaliser_as_it_would_type_them(
    array: pa.Array, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = pa.table({"seats": array})
    fast = ProspectColumns.resolve(["seats"], {"seats": "numeric"}, file="x")
    assert fast._plain_numbers(batch, "seats", "numeric") is not None  # the fast path is taken
    got = fast.normalise_arrow(batch).column("seats")
    monkeypatch.setattr(ProspectColumns, "_plain_numbers", lambda *_: None)
    slow = ProspectColumns.resolve(["seats"], {"seats": "numeric"}, file="x")
    want = slow.normalise_arrow(batch).column("seats")
    assert got.type == want.type
    assert got.to_pylist() == pytest.approx(want.to_pylist(), nan_ok=True)


def test_canonical_numbers_still_go_through_the_normaliser() -> None:
    """A canonical column (scales, negatives read as missing) never takes the shortcut."""
    batch = pa.table({"employees": pa.array([-5.0, 40.0])})
    columns = ProspectColumns.resolve(["employees"], {"employees": "numeric"}, file="x")
    assert columns._plain_numbers(batch, "employees", "numeric") is None
    assert columns.normalise_arrow(batch).column("employees").to_pylist() == [None, 40.0]


def test_in_order_keeps_the_order_and_bounds_the_work_in_flight() -> None:
    lock, running, most = threading.Lock(), [0], [0]

    def work(i: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.002 * (i % 3))
        with lock:
            running[0] -= 1
        return i * i

    assert list(in_order(work, iter(range(40)), workers=3)) == [i * i for i in range(40)]
    assert most[0] <= 3
    assert list(in_order(work, iter(range(5)), workers=1)) == [0, 1, 4, 9, 16]
    most[0] = 0  # one thread beside the caller, two more items waiting
    assert list(in_order(work, iter(range(9)), workers=1, ahead=2)) == [i * i for i in range(9)]
    assert most[0] == 1


def test_in_order_raises_the_first_failure() -> None:
    def work(i: int) -> int:
        if i == 4:
            raise ValueError("row 4 is broken")
        return i

    got = []
    with pytest.raises(ValueError, match="row 4"):
        for value in in_order(work, iter(range(10)), workers=2):
            got.append(value)
    assert got == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"cuts": [1, 2], "labels": ["lo", "hi"]}, "2 labels"),  # codes past the labels
        ({"cuts": [10, 0, 3]}, "must increase"),  # binning counts the cuts below a value
        ({"cuts": [1, float("nan")]}, "must increase"),
    ],
)
def test_a_malformed_numeric_feature_is_refused(raw: dict, words: str) -> None:
    """Hand-edited profiles: the fast binning would otherwise give a wrong score quietly."""
    from icpkit.errors import ConfigError

    with pytest.raises(ConfigError, match=words):
        binning.Feature.from_dict({"name": "e", "kind": "numeric", "column": "e", **raw})


def test_a_failed_run_leaves_no_reader_thread_behind(tmp_path, monkeypatch) -> None:
    """A failure in scoring, kept by the caller (a log, a notebook), must not keep the reading
    thread and its open file alive."""
    import polars as pl

    from icpkit.datasets import make_crm
    from icpkit.scoring import load_spec, score_file
    from icpkit.scoring.apply import ScoringPlan

    profile = load_spec(Path(__file__).parent / "fixtures" / "spec_cold_start.toml")
    source = tmp_path / "in.parquet"
    make_crm(600, seed=3).accounts.write_parquet(source, row_group_size=100)
    real, calls = ScoringPlan.score_table, [0]

    def flaky(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 3:
            raise RuntimeError("scoring failed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ScoringPlan, "score_table", flaky)
    before = threading.active_count()
    kept = None
    try:
        score_file(profile, source, tmp_path / "out.parquet", batch_rows=100)
    except RuntimeError as exc:
        kept = exc  # the traceback holds score_file's frame
    assert kept is not None
    deadline = (
        time.monotonic() + 10
    )  # the reader thread ends on its own; poll, do not guess a sleep
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before
    assert not (tmp_path / "out.parquet").exists()
    assert pl.read_parquet(source).height == 600


def test_list_columns_keep_their_dictionary_pages(tmp_path) -> None:
    """Wide numbers skip the dictionary; text inside lists keeps it (a column path of its own)."""
    import pyarrow.parquet as pq

    from icpkit.scoring.bulk import _writer

    table = pa.table(
        {
            "tags": pa.array([["crm", "erp"], None, ["crm"]] * 100),
            "revenue": pa.array([1.5, 2.5, 3.5] * 100),
            "score": pa.array([1, 2, 3] * 100, pa.int16()),
        }
    )
    writer = _writer(tmp_path / "x.parquet", ".parquet", table.schema)
    writer.write_table(table)
    writer.close()
    meta = pq.ParquetFile(tmp_path / "x.parquet").metadata.row_group(0)
    encodings = {meta.column(j).path_in_schema: meta.column(j).encodings for j in range(3)}
    assert "RLE_DICTIONARY" in encodings["tags.list.element"]
    assert "RLE_DICTIONARY" in encodings["score"]
    assert "RLE_DICTIONARY" not in encodings["revenue"]


def _random_card(rng: np.random.Generator, k: int, scale: int) -> Any:
    """A scorecard of ``k`` categorical features with many tied points and positive points on
    some missing bins (listed as 0 among the reasons for)."""
    from icpkit.scoring.binning import Feature
    from icpkit.scoring.card import Scorecard

    features, points = [], []
    for j in range(k):
        levels = tuple(f"v{i}" for i in range(int(rng.integers(1, 7))))
        features.append(Feature(name=f"c{j}", kind="categorical", column=f"c{j}", levels=levels))
        points.append(tuple(int(p) * scale for p in rng.integers(-3, 4, len(levels) + 2)))
    return Scorecard(features=tuple(features), points=tuple(points), base=50)


@pytest.mark.parametrize("scale", [1, 1000])
@pytest.mark.parametrize("k", [1, 3, 20, 150])  # 150 features: over 254 ranked bins (uint16)
@pytest.mark.parametrize("tiles, parallel", [(1, False), (3, True)])
def test_ranked_picks_equal_the_packed_key_picks(
    k: int, scale: int, tiles: int, parallel: bool
) -> None:
    """Reason picks from per-bin ranks (the bulk path) equal the packed-key top-k of the listed
    points, pick for pick, on every row: ties, missing bins worth points, uint8 and uint16
    ranks, several tiles, on threads."""
    rng = np.random.default_rng(k * scale)
    card = _random_card(rng, k, scale)
    n = 2000 if tiles == 1 else explain._TILE * tiles + 5
    sizes = np.array([f.n_bins for f in card.features])
    codes = np.asfortranarray((rng.random((n, k)) * sizes).astype(np.int32))
    points = card.points_matrix(codes)
    texts, offsets = explain.reason_table(card)
    want = scoring_reference.picks(
        explain.listed_points(points, codes, card), codes, offsets, 3, len(texts), parallel
    )
    got = explain.ranked_picks(codes, card, 3, parallel)
    for a, b in zip(got, want, strict=True):
        assert a.tolist() == b.tolist()
    narrow = explain.ranked_picks(np.asfortranarray(codes.astype(np.uint8)), card, 3, parallel)
    assert [p.tolist() for p in narrow] == [p.tolist() for p in got]
