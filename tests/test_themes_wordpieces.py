"""Word pieces counted word by word are the tokenizer's own counts, so the vectors are the same."""

from __future__ import annotations

import numpy as np
import pytest

from icpkit.themes.embed import _unit_means, default_embedder

TEXTS = [
    "The company builds cloud applications for companies. Headquartered in FR.",
    "We're a B2B SaaS (YC W21) at $100M ARR; e-mail: ops_team@acme.io ~ 50% ^^ `code` #1!",
    "Café Zürich — naïve résumé ½",  # not plain ASCII: the tokenizer's own pass
    "\x07bell\tand\ttabs\r\nlines",
    "超级 company",
    "",
    "   ",
    "a" * 300,  # one word over WordPiece's 100 characters: [UNK], left out
    " ".join(["data"] * 600),  # over 512 pieces (under 4,000 characters): cut by the tokenizer
    "x" * 120 + " fine",
    "Supercalifragilistic hyperconverged infrastructure, re-imagined",
]


@pytest.mark.parametrize("repeat", [1, 50])
def test_counts_and_vectors_are_the_tokenizers_own(repeat: int) -> None:
    embed = default_embedder()
    texts = TEXTS * repeat
    fast, plain = embed._counts(texts), embed._counts_by_text(texts)
    assert fast.has_canonical_format
    assert np.array_equal(fast.indptr, plain.indptr)
    assert np.array_equal(fast.indices, plain.indices)
    assert np.array_equal(fast.data, plain.data)
    vectors = _unit_means(fast @ embed.vectors)
    assert np.array_equal(vectors, _unit_means(plain @ embed.vectors))
    assert np.array_equal(embed.encode(texts), vectors)
