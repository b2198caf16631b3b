"""Theme embeddings compared on a labelled paraphrase set, and the themes pipeline at scale.

    uv run --frozen python bench/bench_themes.py [--extra-model DIR ...] [--notes 100000]

Part 1 (choice of embedding): every candidate embeds tests/data/paraphrases.csv (≥ 150 short notes in
≥ 8 themes, paraphrases with little shared vocabulary); the notes are clustered (average-linkage
agglomerative, cosine on centred vectors, told the true theme count) and scored by purity and adjusted Rand index
against the labels; the same notes are also grouped by icpkit's own clustering with an automatic
theme count. Speed: notes per second embedding 20k synthetic notes, all candidates in this run.

Part 2 (scale): --notes synthetic notes embedded, clustered and tested against outcomes by
icpkit.themes.find_themes; wall time and peak memory (tracemalloc).
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.cluster import AgglomerativeClustering
from sklearn.decomposition import NMF, TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import normalize

ROOT = Path(__file__).resolve().parents[1]
PARAPHRASES = ROOT / "tests" / "data" / "paraphrases.csv"
Encoder = Callable[[list[str]], np.ndarray]


def purity(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Share of notes whose cluster's majority theme is their own theme."""
    total = 0
    for c in np.unique(clusters):
        _, counts = np.unique(labels[clusters == c], return_counts=True)
        total += counts.max()
    return total / len(labels)


def candidates(extra: list[Path]) -> dict[str, Callable[[list[str]], Encoder]]:
    """name -> factory(corpus) -> encoder. Corpus-fitted baselines fit on the texts they embed."""
    from icpkit.themes.embed import StaticEmbedder

    found: dict[str, Callable[[list[str]], Encoder]] = {}
    bundled = StaticEmbedder()
    found["model2vec MiniLM-128 int8 (bundled)"] = lambda _c: bundled.encode
    for path in extra:
        other = StaticEmbedder(path)
        found[f"model2vec {path.name}"] = lambda _c, m=other: m.encode
    try:
        import wordllama
        from wordllama import WordLlama

        package = Path(wordllama.__file__).parent
        wl = WordLlama.load(cache_dir=package, disable_download=True)
        found["wordllama l2_supercat 256"] = lambda _c: lambda t: normalize(wl.embed(t))
        wl64 = WordLlama.load(cache_dir=package, disable_download=True, trunc_dim=64)
        found["wordllama l2_supercat 64"] = lambda _c: lambda t: normalize(wl64.embed(t))
    except Exception as exc:  # reported, not hidden: the comparison names what it lacked
        print(f"wordllama unavailable: {exc}")

    def tfidf_lsa(corpus: list[str]) -> Encoder:
        vec = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit(corpus)
        svd = TruncatedSVD(n_components=min(100, len(vec.vocabulary_) - 1), random_state=0)
        svd.fit(vec.transform(corpus))
        return lambda t: normalize(svd.transform(vec.transform(t)))

    def tfidf_nmf(corpus: list[str]) -> Encoder:
        vec = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit(corpus)
        nmf = NMF(n_components=10, init="nndsvda", random_state=0, max_iter=400)
        nmf.fit(vec.transform(corpus))
        return lambda t: normalize(nmf.transform(vec.transform(t)))

    found["TF-IDF + LSA (100)"] = tfidf_lsa
    found["TF-IDF + NMF (10 topics)"] = tfidf_nmf
    return found


def quality(encoder: Encoder, texts: list[str], labels: np.ndarray) -> dict[str, float]:
    from icpkit.themes.cluster import centre, cluster_vectors

    x = encoder(texts)
    k = len(np.unique(labels))
    centred = centre(x, x.mean(axis=0))
    known = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit(centred)
    auto = cluster_vectors(x)
    assigned = auto.labels >= 0
    return {
        "purity": purity(labels, known.labels_),
        "ari": adjusted_rand_score(labels, known.labels_),
        "auto_k": float(auto.n_themes),
        "auto_ari": adjusted_rand_score(labels[assigned], auto.labels[assigned]),
        "auto_unassigned": float((~assigned).mean()),
    }


def speed(encoder: Encoder, texts: list[str]) -> float:
    start = time.perf_counter()
    encoder(texts)
    return len(texts) / (time.perf_counter() - start)


def part_one(extra: list[Path]) -> None:
    from icpkit.datasets import make_crm

    frame = pl.read_csv(PARAPHRASES)
    texts, labels = frame["text"].to_list(), frame["theme"].to_numpy()
    notes = make_crm(n_accounts=20_000, seed=1).notes["text"].to_list()
    repeated = (notes * (20_000 // max(len(notes), 1) + 1))[:20_000]
    # unique texts: the bundled embedder embeds repeats once, which would flatter its speed
    speed_texts = [f"{text} (note {i})" for i, text in enumerate(repeated)]
    print(f"paraphrase set: {len(texts)} notes, {len(set(labels))} themes; speed on 20k notes\n")
    print("| embedding | purity | ARI | auto themes | auto ARI | unassigned | notes/s |")
    print("|---|---|---|---|---|---|---|")
    for name, factory in candidates(extra).items():
        q = quality(factory(texts), texts, labels)
        per_s = speed(factory(speed_texts), speed_texts)
        print(
            f"| {name} | {q['purity']:.3f} | {q['ari']:.3f} | {q['auto_k']:.0f} | "
            f"{q['auto_ari']:.3f} | {q['auto_unassigned']:.0%} | {per_s:,.0f} |"
        )


def part_two(n_notes: int) -> None:
    from icpkit.datasets import make_crm
    from icpkit.outcomes import compute_outcomes
    from icpkit.themes.analysis import find_themes

    n_accounts = max(2000, n_notes // 2)
    crm = make_crm(n_accounts=n_accounts, seed=3)
    notes = crm.notes
    while notes.height < n_notes:
        notes = pl.concat([notes, crm.notes])
    notes = notes.head(n_notes)
    outcomes = compute_outcomes(crm.to_crm_data()).frame
    names = crm.contacts["name"].to_list()
    start = time.perf_counter()
    cpu = time.process_time()
    result = find_themes(notes, outcomes, names)
    elapsed, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    tracemalloc.start()
    find_themes(notes, outcomes, names)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\n{n_notes:,} notes ({n_accounts:,} accounts, {len(names):,} contact names): embedded, "
        f"clustered, labelled and tested in {elapsed:.1f} s wall ({cpu_s:.1f} s CPU); "
        f"{len(result.themes)} themes, {len(result.tests)} tests, "
        f"{result.n_unassigned:,} unassigned; peak traced memory {peak / 1e6:.0f} MB "
        f"(second run); load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra-model", type=Path, action="append", default=[])
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    part_one(args.extra_model)
    if not args.skip_scale:
        part_two(args.notes)


if __name__ == "__main__":
    main()
