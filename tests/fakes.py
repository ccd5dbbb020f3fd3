"""A real `Embedder` without a model, for fast tests of everything around the vectors.

`HashingEmbedder` hashes a text's lower-cased words, and the character 3-grams of each word,
into a fixed number of dimensions (the feature-hashing trick) and normalises the result. It is
deterministic across processes (blake2b, not Python's salted `hash`), needs no model, and
behaves like a crude embedding model: texts sharing words are close, a misspelt word still
shares most of its 3-grams, and unrelated texts are nearly orthogonal.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import signal
from collections import Counter
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")
WORD_WEIGHT = 1.0
TRIGRAM_WEIGHT = 0.25


def _bucket(feature: str, dimension: int) -> tuple[int, float]:
    """The feature's dimension and sign: a signed hash keeps collisions from adding up."""
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimension, (1.0 if value >> 63 else -1.0)


class HashingEmbedder:
    """Feature-hashing embeddings: words and their 3-grams, sublinear counts, unit length."""

    def __init__(self, dimension: int = 384, *, max_tokens: int = 256) -> None:
        self.identity = f"hashing-{dimension}"
        self.dimension = dimension
        self.max_tokens = max_tokens

    def features(self, text: str) -> Counter[str]:
        words = _WORD.findall(text.lower())
        feats: Counter[str] = Counter(f"w:{w}" for w in words)
        for w in words:
            padded = f"<{w}>"
            feats.update(f"g:{padded[i : i + 3]}" for i in range(len(padded) - 2))
        return feats

    def embed_one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for feature, count in self.features(text).items():
            i, sign = _bucket(feature, self.dimension)
            weight = WORD_WEIGHT if feature.startswith("w:") else TRIGRAM_WEIGHT
            vec[i] += sign * weight * (1.0 + math.log(count))
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Words plus the two markers a transformer tokenizer adds."""
        return [len(_WORD.findall(t)) + 2 for t in texts]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.embed_one(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_one(text)


class DyingEmbedder(HashingEmbedder):
    """A HashingEmbedder whose process is killed (SIGKILL) on its `fatal_call`-th batch: for
    crash tests run in a child process."""

    def __init__(self, fatal_call: int = 3) -> None:
        super().__init__()
        self.fatal_call = fatal_call
        self.calls = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fatal_call:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().embed_documents(texts)
