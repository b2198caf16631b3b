"""``_looks_foreign`` counts ASCII letters in C; the answer is the per-character one's."""

from __future__ import annotations

import random
import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from icpkit.themes.analysis import _looks_foreign


def _per_character(text: str) -> bool:
    letters = [c for c in text[:2000] if c.isalpha()]
    if len(letters) < 12:
        return False
    if sum(not c.isascii() for c in letters) / len(letters) > 0.3:
        return True
    words = re.findall(r"[^\W\d_]+", text[:2000].lower())
    return len(words) >= 6 and sum(w in ENGLISH_STOP_WORDS for w in words) / len(words) < 0.08


def test_same_answer_as_counting_each_character() -> None:
    rng = random.Random(3)
    alphabet = "abcXYZ09 _-é日ß²½Ⅻ\n\t.,"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(3000)]
    texts += [
        "Ceci est une note écrite en français pour le client",
        "Это заметка на русском языке о клиенте и его команде",
        "The team could not get the export to work with the CRM before the renewal",
        "pricing onboarding integration latency dashboard export billing sso audit",
        "x" * 3000,
    ]
    assert [_looks_foreign(t) for t in texts] == [_per_character(t) for t in texts]
    assert _looks_foreign(texts[-4]) and not _looks_foreign(texts[-3])
