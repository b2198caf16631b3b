"""Title classifier accuracy: per class and the confusion, on the labelled and held-out sets.

tests/data/titles_labelled.csv was labelled by hand while the vocabularies were written (the
tests assert >= 0.9 on it); tests/data/titles_heldout.csv was written after the vocabularies were
finished and never used to change them, so its figure is the honest one.

    uv run --frozen python bench/title_accuracy.py
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from icpkit.personas import classify_titles

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def report(name: str) -> None:
    labelled = pl.read_csv(DATA / name)
    found = classify_titles(labelled["title"])
    checked = labelled.with_columns(
        predicted_function=found["function"], predicted_seniority=found["seniority"]
    )
    print(f"\n## {name}: {checked.height} titles")
    for part in ("function", "seniority"):
        hit = checked[part] == checked[f"predicted_{part}"]
        print(f"\n{part} accuracy {hit.mean():.3f}")
        per_class = (
            checked.with_columns(hit=hit)
            .group_by(part)
            .agg(n=pl.len(), accuracy=pl.col("hit").mean().round(3))
            .sort(part)
        )
        print(per_class)
        confusion = (
            checked.filter(~hit)
            .group_by(part, f"predicted_{part}")
            .len()
            .sort("len", descending=True)
        )
        print(f"{part} confusion (label → predicted, errors only):")
        print(confusion)
    by_language = checked.group_by("language").agg(
        n=pl.len(),
        function=(pl.col("function") == pl.col("predicted_function")).mean().round(3),
        seniority=(pl.col("seniority") == pl.col("predicted_seniority")).mean().round(3),
    )
    print(by_language.sort("language"))


if __name__ == "__main__":
    with pl.Config(tbl_rows=40, tbl_hide_dataframe_shape=True):
        report("titles_labelled.csv")
        report("titles_heldout.csv")
