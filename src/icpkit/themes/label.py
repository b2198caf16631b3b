"""What a theme is called: distinctive keywords (class-based TF-IDF) and its most central quotes.

Class-based TF-IDF (as in BERTopic) treats all notes of one theme as one document: a word scores
high for a theme when it is frequent there and rare in the other themes, so words every note shares
("customer", "team", a source's boilerplate opening) never name a theme.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

# Openings that CRM tools and our own synthetic notes put before the text ("Call notes: ...").
OPENING = r"^\s*[A-Za-z][A-Za-z ]{0,24}:\s+"


# scikit-learn's English list lacks the auxiliaries, contractions and fillers of spoken notes
# ("it does not sync", "didn't", "we just got"): as keywords they read as noise in a theme's name
STOP_WORDS = sorted(
    ENGLISH_STOP_WORDS
    | {"does", "did", "doing", "don", "doesn", "didn", "isn", "aren", "wasn", "weren",
       "wouldn", "couldn", "shouldn", "ve", "ll", "got", "gets", "getting", "just", "really",
       "thing", "things", "lot", "lots"}
)  # fmt: skip


def theme_keywords(
    texts: list[str], labels: np.ndarray, n_themes: int, top: int = 5
) -> list[list[str]]:
    """The ``top`` most distinctive words or two-word phrases of each theme (label -1 ignored)."""
    keep = labels >= 0
    if not keep.any() or n_themes == 0:
        return [[] for _ in range(n_themes)]
    docs = [
        " ".join(np.asarray(texts, dtype=object)[keep & (labels == k)]) for k in range(n_themes)
    ]
    vectorizer = CountVectorizer(
        stop_words=STOP_WORDS,
        ngram_range=(1, 2),
        min_df=1,
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]+\b",
    )
    try:
        counts = vectorizer.fit_transform(docs).astype(np.float64)
    except ValueError:  # only stop words
        return [[] for _ in range(n_themes)]
    words = vectorizer.get_feature_names_out()
    tf = counts.multiply(1.0 / np.maximum(counts.sum(axis=1), 1.0)).tocsr()
    total = np.asarray(counts.sum(axis=0)).ravel()
    avg_words = counts.sum() / n_themes
    idf = np.log1p(avg_words / np.maximum(total, 1.0))
    scores = tf.multiply(idf).toarray()
    return [_top_words(row, words, top) for row in scores]


def _top_words(row: np.ndarray, words: np.ndarray, top: int) -> list[str]:
    """Highest-scoring words, skipping a single word already inside a chosen phrase."""
    chosen: list[str] = []
    for index in np.argsort(-row):
        if row[index] <= 0 or len(chosen) == top:
            break
        word = str(words[index])
        if any(word in c.split() or c in word.split() for c in chosen):
            continue
        chosen.append(word)
    return chosen


def central_notes(
    similarity: np.ndarray, labels: np.ndarray, theme: int, texts: list[str], n: int
) -> list[int]:
    """Row indices of the ``n`` notes of ``theme`` closest to its centroid, distinct texts, short first.

    Very long notes (over 300 characters) are passed over while shorter ones remain: a quote should
    be readable on a one-pager.
    """
    rows = np.flatnonzero(labels == theme)
    if rows.size == 0 or n == 0:
        return []
    lengths = np.array([len(texts[r]) for r in rows])
    order = rows[np.lexsort((-similarity[rows, theme], lengths > 300))]
    picked: list[int] = []
    seen: set[str] = set()
    for row in order:
        key = texts[row].strip().lower()
        if key and key not in seen:
            seen.add(key)
            picked.append(int(row))
        if len(picked) == n:
            break
    return picked
