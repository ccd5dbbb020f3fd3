"""Synthetic archives for the growth test: cheap articles, chunks and vectors.

Words are drawn from the real BBC vocabulary with its real frequencies (pseudo-words when the
shared archive is absent), so BM25 posting lists have realistic lengths and dev questions find
matches. Vectors come from a cheap generator (unit vectors scattered around random topic
centres): the growth test measures the query path, not the quality of the vectors.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from bench.measure import SHARED_DATA
from newsdesk.core.types import Article, Chunk
from newsdesk.store import schema

WORDS_PER_CHUNK = 110  # ~ a 200-token BBC chunk
CHUNKS_PER_ARTICLE = 4
DIMENSION = 384
CATEGORIES = ("business", "entertainment", "politics", "sport", "tech")
_WORD = re.compile(r"[A-Za-z][A-Za-z']+")


@dataclass
class SyntheticBatch:
    articles: list[tuple[Article, str, list[Chunk]]]  # (article, content hash, chunks)
    vectors: np.ndarray  # one row per chunk, in article then position order

    @property
    def chunks(self) -> list[tuple[Article, Chunk]]:
        return [(a, c) for a, _, chunks in self.articles for c in chunks]


def vocabulary(max_words: int = 40_000) -> tuple[np.ndarray, np.ndarray]:
    """Words and their probabilities: the BBC archive's own, else Zipf over pseudo-words."""
    counts: Counter[str] = Counter()
    bbc = SHARED_DATA / "bbc"
    if bbc.is_dir():
        for path in bbc.glob("*/*.txt"):
            counts.update(_WORD.findall(path.read_text(encoding="utf-8", errors="replace")))
    if len(counts) < 1000:
        syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "pa", "do", "fe"]
        rng = np.random.default_rng(7)
        words = {"".join(rng.choice(syllables, size=int(rng.integers(2, 5)))) for _ in range(9000)}
        counts = Counter({w: 1.0 / (rank + 1) for rank, w in enumerate(sorted(words))})
    common = counts.most_common(max_words)
    words = np.array([w for w, _ in common], dtype=object)
    freq = np.array([float(c) for _, c in common])
    return words, freq / freq.sum()


class Generator:
    """Deterministic stream of synthetic articles with chunks and vectors."""

    def __init__(self, seed: int = 0, topics: int = 2000) -> None:
        self._rng = np.random.default_rng(seed)
        self._words, self._p = vocabulary()
        centres = self._rng.standard_normal((topics, DIMENSION)).astype(np.float32)
        self._centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        self._next = 0

    def batches(self, n_chunks: int, batch_chunks: int = 20_000) -> Iterator[SyntheticBatch]:
        """Exactly `n_chunks` chunks (the last article may be shorter)."""
        made = 0
        while made < n_chunks:
            batch = self._batch(min(batch_chunks, n_chunks - made))
            made += len(batch.vectors)
            yield batch

    def _batch(self, n_chunks: int) -> SyntheticBatch:
        sizes = [CHUNKS_PER_ARTICLE] * (n_chunks // CHUNKS_PER_ARTICLE)
        if n_chunks % CHUNKS_PER_ARTICLE:
            sizes.append(n_chunks % CHUNKS_PER_ARTICLE)
        picks = self._rng.choice(len(self._words), size=(n_chunks, WORDS_PER_CHUNK), p=self._p)
        texts = [" ".join(row) + "." for row in self._words[picks]]
        topics = self._rng.integers(0, len(self._centres), size=len(sizes))
        articles: list[tuple[Article, str, list[Chunk]]] = []
        first = 0
        for size in sizes:
            articles.append(self._article(texts[first : first + size]))
            first += size
        noise = self._rng.standard_normal((n_chunks, DIMENSION)).astype(np.float32) * 0.06
        vectors = np.repeat(self._centres[topics], sizes, axis=0) + noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return SyntheticBatch(articles, vectors)

    def _article(self, parts: list[str]) -> tuple[Article, str, list[Chunk]]:
        n = self._next
        self._next += 1
        text = " ".join(parts)
        title = " ".join(parts[0].split()[:8]).capitalize()
        published = (date(2000, 1, 1) + timedelta(days=n % 3650)).isoformat()
        article = Article(
            doc_id=f"synthetic/{n // 1000:05d}/{n:08d}.txt",
            title=title,
            text=text,
            source="synthetic",
            published=published,
            category=CATEGORIES[n % len(CATEGORIES)],
        )
        content = schema.content_hash(title, text)
        chunks: list[Chunk] = []
        start = 0
        for position, part in enumerate(parts):
            end = start + len(part)
            chunks.append(
                Chunk(
                    schema.chunk_id(content, position),
                    article.doc_id,
                    position,
                    start,
                    end,
                    part,
                    WORDS_PER_CHUNK,
                )
            )
            start = end + 1
        return article, content, chunks
