"""Sentence vectors for short notes, offline: a static (lookup-table) embedding model.

The bundled model (``model/``) is a model2vec distillation of sentence-transformers'
all-MiniLM-L6-v2: each word piece has one 128-dimensional vector, a note is the mean of its word
pieces' vectors, normalised to unit length. Paraphrases with little shared vocabulary land close
together because the teacher's contextual knowledge is baked into the token vectors (chosen over
WordLlama and TF-IDF baselines by bench/bench_themes.py; figures in bench/RESULTS.md).

Only ``tokenizers`` and numpy are needed at run time: no torch, no network, no download. The
safetensors file is read with numpy (its format is an 8-byte header length, a JSON header and raw
little-endian arrays), so the ``safetensors`` package is not needed either.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

MODEL_DIR = Path(__file__).resolve().parent / "model"
MAX_TOKENS = 512  # the teacher's context; longer notes are cut (their opening carries the point)
MAX_CHARS = 4000  # tokenising a 1 MB note is wasted work past MAX_TOKENS word pieces
SIF_SMOOTHING = 1e-3  # "a" of smooth inverse frequency: pieces more frequent than this fade
SOURCE_PRIOR_PIECES = 2000.0  # weight of the all-notes frequency in a source's piece frequency
_DTYPES = {"I8": np.int8, "F16": np.float16, "F32": np.float32}


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    arrays: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        buffer = raw[8 + header_len + start : 8 + header_len + end]
        arrays[name] = np.frombuffer(buffer, dtype=_DTYPES[meta["dtype"]]).reshape(meta["shape"])
    return arrays


class StaticEmbedder:
    """Mean-of-token-vectors sentence embedder over a model2vec model folder.

    Parameters
    ----------
    model_dir
        Folder with ``model.safetensors`` (``embeddings``: vocabulary × dim) and ``tokenizer.json``.
    """

    def __init__(self, model_dir: Path = MODEL_DIR) -> None:
        from tokenizers import Tokenizer

        self.model_dir = model_dir
        table = _read_safetensors(model_dir / "model.safetensors")["embeddings"]
        self.vectors = table.astype(np.float32)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        unk = self.tokenizer.token_to_id("[UNK]")
        self.unk_id = -1 if unk is None else int(unk)
        self._letter_pieces: np.ndarray | None = None

    @property
    def dim(self) -> int:
        """Length of one sentence vector."""
        return int(self.vectors.shape[1])

    def encode(self, texts: Sequence[str], batch_size: int = 8192) -> np.ndarray:
        """Unit-length vectors, one row per text (a zero row for a text with no known word).

        Repeated texts (templates, copied lost reasons) are embedded once.
        """
        unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
        out = np.zeros((len(unique), self.dim), dtype=np.float32)
        for start in range(0, len(unique), batch_size):
            batch = [str(t)[:MAX_CHARS] for t in unique[start : start + batch_size]]
            out[start : start + len(batch)] = self._encode_batch(batch)
        return out[inverse.ravel()]

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return _unit_means(self._counts(texts) @ self.vectors)

    def _counts(self, texts: list[str]) -> sparse.csr_matrix:
        """Texts × word pieces: how often each known piece occurs in each text (each distinct
        word tokenised once: :mod:`icpkit.themes.wordpieces`; the same counts)."""
        from icpkit.themes.wordpieces import piece_counts

        n_pieces = self.vectors.shape[0]
        return piece_counts(self.tokenizer, texts, n_pieces, self.unk_id, MAX_TOKENS)

    def _counts_by_text(self, texts: list[str]) -> sparse.csr_matrix:
        """:meth:`_counts` by the tokenizer alone, text by text (the reference it must equal)."""
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        ids_per_text = [e.ids for e in encodings]
        lengths = np.fromiter((len(ids) for ids in ids_per_text), np.int64, len(ids_per_text))
        flat = np.fromiter((i for ids in ids_per_text for i in ids), np.int64, int(lengths.sum()))
        keep = flat != self.unk_id
        row = np.repeat(np.arange(len(texts)), lengths)[keep]
        return sparse.csr_matrix(
            (np.ones(row.size, np.float32), (row, flat[keep])),
            shape=(len(texts), self.vectors.shape[0]),
        )

    def encode_by_source(
        self, texts: Sequence[str], sources: Sequence[str], smoothing: float = SIF_SMOOTHING
    ) -> np.ndarray:
        """Unit vectors in which what a note's source repeats in every note weighs almost nothing.

        Each word piece of a note weighs ``a / (a + p)`` (smooth inverse frequency, Arora et
        al. 2017), with ``p`` the piece's frequency among the pieces of the note's source, shrunk
        toward its frequency in all notes (a prior worth ``SOURCE_PRIOR_PIECES`` pieces, so a
        small source is not judged on a few notes). A call transcript's "um, yeah, so", a
        ticket's portal footer or a survey's question text is frequent in its source, so it no
        longer pulls the notes of one source together whatever they say; words common
        everywhere ("the", "we") fade the same way. Pieces made only of digits (ticket
        numbers, scores, dates) weigh nothing: a number never names a theme.
        """
        source_codes, source_index = np.unique(np.asarray(sources, dtype=str), return_inverse=True)
        source_index = source_index.ravel()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        counts = sparse.vstack(
            [self._counts([str(t)[:MAX_CHARS] for t in texts[s : s + 8192]])
             for s in range(0, len(texts), 8192)] or [sparse.csr_matrix((0, len(self.vectors)))]
        ).tocsr()  # fmt: skip
        if counts.shape[0] == 0:
            return out
        counts = counts.multiply(self._not_numbers()[None, :]).tocsr()
        total = np.asarray(counts.sum(axis=0)).ravel()
        p_all = total / max(total.sum(), 1.0)
        for code in range(len(source_codes)):
            rows = np.flatnonzero(source_index == code)
            mine = np.asarray(counts[rows].sum(axis=0)).ravel()
            p = (mine + SOURCE_PRIOR_PIECES * p_all) / (mine.sum() + SOURCE_PRIOR_PIECES)
            weights = smoothing / (smoothing + p)
            out[rows] = _unit_means(counts[rows].multiply(weights[None, :]).tocsr() @ self.vectors)
        return out

    def _not_numbers(self) -> np.ndarray:
        """1 for every word piece with a letter, 0 for pieces made of digits and marks only."""
        if self._letter_pieces is None:
            vocab = self.tokenizer.get_vocab()
            mask = np.ones(len(self.vectors), dtype=np.float32)
            for piece, index in vocab.items():
                if index < len(mask) and not any(c.isalpha() for c in piece):
                    mask[index] = 0.0
            self._letter_pieces = mask
        return self._letter_pieces


def _unit_means(sums: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero): the direction of a weighted sum."""
    sums = np.asarray(sums, dtype=np.float32)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)


@lru_cache(maxsize=1)
def default_embedder() -> StaticEmbedder:
    """The bundled model, loaded once per process (≈ 4 MB, a few milliseconds)."""
    return StaticEmbedder()
