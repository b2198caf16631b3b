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


FILLER_SHARE = 0.15  # a word in this share of one source's notes…
FILLER_CONTRAST = 3.0  # …and this many times likelier there than in the other sources
_WORD = r"(?u)\b[a-zA-Z][a-zA-Z-]+\b"


def filler_words(texts: list[str], sources: list[str], min_notes: int = 20) -> set[str]:
    """Words a source puts in its notes whatever they say: its boilerplate, never a theme's name.

    A ticket's "priority" and "portal", a transcript's "yeah" and "um", a survey's question text
    are in a large share of one source's notes and rare in the others'. With a single source
    nothing can be told apart this way, and no word is a filler.
    """
    names = sorted(set(sources))
    if len(names) < 2 or not texts:
        return set()
    vectorizer = CountVectorizer(binary=True, lowercase=True, token_pattern=_WORD)
    try:
        present = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no words at all
        return set()
    words = vectorizer.get_feature_names_out()
    source = np.asarray(sources)
    fillers: set[str] = set()
    for name in names:
        mine = source == name
        if mine.sum() < min_notes or (~mine).sum() == 0:
            continue
        share = np.asarray(present[mine].mean(axis=0)).ravel()
        elsewhere = np.asarray(present[~mine].mean(axis=0)).ravel()
        hit = (share >= FILLER_SHARE) & (share >= FILLER_CONTRAST * elsewhere)
        fillers |= {str(w) for w in words[hit]}
    return fillers


def theme_keywords(
    texts: list[str],
    labels: np.ndarray,
    n_themes: int,
    top: int = 5,
    extra_stop_words: set[str] | None = None,
) -> list[list[str]]:
    """The ``top`` most distinctive words or two-word phrases of each theme (label -1 ignored).

    ``extra_stop_words`` (a source's fillers, see :func:`filler_words`) never name a theme.
    """
    keep = labels >= 0
    if not keep.any() or n_themes == 0:
        return [[] for _ in range(n_themes)]
    docs = [
        " ".join(np.asarray(texts, dtype=object)[keep & (labels == k)]) for k in range(n_themes)
    ]
    vectorizer = CountVectorizer(
        stop_words=sorted(set(STOP_WORDS) | (extra_stop_words or set())),
        ngram_range=(1, 2),
        min_df=1,
        token_pattern=_WORD,
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
