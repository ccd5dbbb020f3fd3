"""The sentence reader: the top articles re-ranked by their best sentence.

A chunk's vector averages a few hundred tokens; a question that describes rather than names
("the former Yukos boss", "the Gunners' manager") matches one sentence of the right article
and is diluted by the rest. The ingest's second phase (`ingest.enrich`) stores a vector per
sentence; here the `depth` best articles of the hybrid ranking are read sentence by sentence:
each article's best sentence is scored against the question vector the search already made
(a dot product per sentence, no model call), and the sentence ranking is fused with the
article ranking by weighted reciprocal rank. Articles below `depth` keep their places.

An article without sentence vectors (an ingest still in its second phase, or an index made
before it existed) cannot be read; then the ranking is left as it is, so that a question
gets the same order whatever part of the archive has been read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from newsdesk.store.ledger import SentenceVectors

RRF_K = 5.0  # as the hybrid fusion's


Sentences = tuple[tuple[int, float], ...]  # (start offset in the article, similarity)


def similarities(
    vectors: Mapping[str, SentenceVectors], question: np.ndarray
) -> dict[str, Sentences]:
    """Each article's (sentence start, cosine similarity to the question), in text order: what
    the re-ranking takes its best sentence from, and what the answerer reads."""
    q = np.asarray(question, dtype=np.float32)
    out: dict[str, Sentences] = {}
    for doc_id, sv in vectors.items():
        sims = sv.vectors.astype(np.float32) @ q if len(sv.spans) else np.zeros(0)
        out[doc_id] = tuple((int(sv.spans[i][0]), float(sims[i])) for i in range(len(sims)))
    return out


def best(read: Mapping[str, Sentences]) -> dict[str, float | None]:
    """Each article's best sentence similarity (None for an article with no sentence)."""
    return {doc: max((sim for _, sim in sents), default=None) for doc, sents in read.items()}


def rerank(
    ranked: Sequence[tuple[float, str]],
    best: Mapping[str, float | None],
    *,
    depth: int,
    weight: float,
) -> list[tuple[float, str]]:
    """`ranked` ((score, doc_id), best first) with its first `depth` entries re-ordered by
    fusing their ranks with the ranks of their best sentences. The scores stay those of the
    places (the first place keeps the first score), so they still fall down the list."""
    head = list(ranked[:depth])
    if weight <= 0 or len(head) < 2 or any(doc not in best for _, doc in head):
        return list(ranked)
    by_sentence = sorted(
        range(len(head)),
        key=lambda i: -(s if (s := best[head[i][1]]) is not None else -2.0),
    )
    sentence_rank = {i: r for r, i in enumerate(by_sentence)}
    fused = sorted(
        range(len(head)),
        key=lambda i: -(1.0 / (RRF_K + i + 1) + weight / (RRF_K + sentence_rank[i] + 1)),
    )
    scores = [score for score, _ in head]
    return [(scores[place], head[i][1]) for place, i in enumerate(fused)] + list(ranked[depth:])


__all__ = ["Sentences", "best", "rerank", "similarities"]
