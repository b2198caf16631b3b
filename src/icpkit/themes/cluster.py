"""Notes → themes: agglomerative clustering with a distance cut, so the number of themes is found.

Vectors are centred on the corpus mean before clustering: static embeddings share a large common
direction (every note is "about business"), and removing it lets the theme differences dominate the
cosine. Average-linkage clustering on cosine distance is cut at ``distance_cut``; clusters smaller
than ``min_size`` are dissolved and their notes go to the nearest kept theme when close enough,
else stay unassigned (label -1). Above ``sample_size`` notes, the tree is built on a seeded sample
and every note is assigned to its nearest theme centroid (the tree is quadratic in memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage


@dataclass(frozen=True)
class Clustering:
    """Theme label per note (-1: unassigned), unit centroids, and the centring offset used."""

    labels: np.ndarray
    centroids: np.ndarray
    center: np.ndarray

    @property
    def n_themes(self) -> int:
        """Number of themes found."""
        return int(self.centroids.shape[0])

    def similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity of (uncentred) vectors to every centroid: notes × themes."""
        return np.asarray(centre(vectors, self.center) @ self.centroids.T)


def centre(vectors: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Subtract the corpus mean and rescale to unit length (zero rows stay zero)."""
    shifted = vectors - center
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.divide(shifted, norms, out=np.zeros_like(shifted), where=norms > 1e-9)


def cluster_vectors(
    vectors: np.ndarray,
    *,
    distance_cut: float = 0.9,
    min_size: int = 5,
    assign_similarity: float = 0.05,
    sample_size: int = 4000,
    random_state: int = 0,
) -> Clustering:
    """Group unit vectors into themes; the theme count follows from ``distance_cut``.

    Parameters
    ----------
    vectors
        One row per note (from :class:`icpkit.themes.embed.StaticEmbedder`); zero rows (notes
        without a known word) are never assigned.
    distance_cut
        Average-linkage cosine distance at which the tree is cut (lower: more, tighter themes).
    min_size
        Smallest theme kept (in the sample); smaller clusters are dissolved.
    assign_similarity
        A note joins its nearest theme only when its centred cosine similarity reaches this.
    """
    n = vectors.shape[0]
    empty = np.linalg.norm(vectors, axis=1) < 1e-9
    usable = np.flatnonzero(~empty)
    dim = vectors.shape[1]
    if usable.size < max(2 * min_size, 3):
        return Clustering(np.full(n, -1), np.zeros((0, dim), np.float32), np.zeros(dim, np.float32))
    rng = np.random.default_rng(random_state)
    sample = (
        usable if usable.size <= sample_size else rng.choice(usable, sample_size, replace=False)
    )
    center = vectors[sample].mean(axis=0)
    z = centre(vectors[sample], center).astype(np.float64)
    tree = linkage(z, method="average", metric="cosine")
    raw = fcluster(tree, t=distance_cut, criterion="distance")
    ids, counts = np.unique(raw, return_counts=True)
    kept = ids[counts >= min_size]
    kept = kept[np.argsort(-counts[counts >= min_size], kind="stable")]
    centroids = np.array([z[raw == k].mean(axis=0) for k in kept]).reshape(-1, dim)
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    centroids = (centroids / np.maximum(norms, 1e-12)).astype(np.float32)
    labels = assign(vectors, centroids, center, assign_similarity)
    labels[empty] = -1
    return Clustering(labels, centroids, center.astype(np.float32))


def assign(
    vectors: np.ndarray,
    centroids: np.ndarray,
    center: np.ndarray,
    min_similarity: float,
    batch_size: int = 20_000,
) -> np.ndarray:
    """Nearest centroid per note, -1 when below ``min_similarity`` (batched: bounded memory)."""
    labels = np.full(vectors.shape[0], -1, dtype=np.int64)
    if centroids.shape[0] == 0:
        return labels
    for start in range(0, vectors.shape[0], batch_size):
        sims = centre(vectors[start : start + batch_size], center) @ centroids.T
        best = sims.argmax(axis=1)
        ok = sims[np.arange(len(best)), best] >= min_similarity
        labels[start : start + batch_size] = np.where(ok, best, -1)
    return labels


def merge_themes(
    labels: np.ndarray,
    centroids: np.ndarray,
    keywords: list[list[str]],
    *,
    merge_similarity: float,
    max_themes: int,
    shared_keywords: int = 2,
) -> np.ndarray:
    """Old theme → merged theme: join themes that say the same thing, and keep at most ``max_themes``.

    Two themes are joined when their centroids' cosine similarity reaches ``merge_similarity`` or
    they share ``shared_keywords`` of their keywords (a theme split by the wording around it, not
    by what it says); then, while there are more than ``max_themes``, the two closest themes are
    joined (as cutting the tree higher would). A joined theme's centroid is the size-weighted
    mean of its parts, its keywords their union. Returns an array mapping every old theme id to
    its new id (0..k-1, ordered by first appearance).
    """
    k = centroids.shape[0]
    groups: list[list[int]] = [[i] for i in range(k)]
    size = np.bincount(labels[labels >= 0], minlength=k).astype(float)[:k]
    vectors = [centroids[i].astype(np.float64) * max(size[i], 1.0) for i in range(k)]
    words = [set(w) for w in keywords] + [set() for _ in range(k - len(keywords))]
    while len(groups) > 1:
        unit = np.array([v / max(np.linalg.norm(v), 1e-12) for v in vectors])
        sims = unit @ unit.T
        np.fill_diagonal(sims, -np.inf)
        overlap = np.array(
            [[len(words[i] & words[j]) >= shared_keywords and i != j for j in range(len(groups))]
             for i in range(len(groups))]
        )  # fmt: skip
        score = np.where(overlap, np.inf, sims)
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[i, j] < merge_similarity and len(groups) <= max_themes:
            break
        i, j = min(i, j), max(i, j)
        groups[i] += groups.pop(j)
        vectors[i] = vectors[i] + vectors.pop(j)
        words[i] |= words.pop(j)
    mapping = np.empty(k, dtype=np.int64)
    for new, members in enumerate(groups):
        mapping[members] = new
    return mapping
