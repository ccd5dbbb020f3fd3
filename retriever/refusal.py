"""Deciding that the archive does not hold the answer, and saying so.

Two kinds of evidence, from the best articles: how close the best passage is in meaning
(cosine similarity of question and chunk embeddings) and how much of the question's content
the passages actually contain (share of the question's stemmed content terms found in the top
article's title and passages, weighted by rarity). Near-miss questions (right topic, missing
fact or entity) fail the coverage test; off-topic questions fail both. Thresholds were tuned
on the `null` questions of ../shared/evals (see README).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from newsdesk import lexical
from newsdesk.types import ArticleHit

MIN_SIMILARITY = 0.25  # below this the best passage is about something else
STRONG_SIMILARITY = 0.55  # at or above this, meaning alone is enough
MIN_COVERAGE = 0.5  # share of the question's (rarity-weighted) terms the evidence must hold


def coverage(question: str, hits: Sequence[ArticleHit], top: int = 2) -> float:
    """Rarity-weighted share of the question's content terms present in the top articles."""
    q_terms = list(dict.fromkeys(lexical.terms(question)))
    if not q_terms:
        return 0.0
    present: set[str] = set()
    for hit in hits[:top]:
        for p in hit.passages:
            present.update(lexical.terms(f"{p.title} {p.text}"))
    # Longer terms are rarer on the whole; a cheap stand-in for IDF that needs no corpus.
    weights = {t: math.log(2 + len(t)) for t in q_terms}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total


def evidence(question: str, hits: Sequence[ArticleHit]) -> dict[str, float]:
    if not hits:
        return {"similarity": 0.0, "coverage": 0.0}
    best_sim = max(p.similarity for h in hits[:3] for p in h.passages)
    return {"similarity": best_sim, "coverage": coverage(question, hits)}


def is_answerable(question: str, hits: Sequence[ArticleHit]) -> bool:
    if not hits:
        return False
    ev = evidence(question, hits)
    if ev["similarity"] < MIN_SIMILARITY:
        return False
    if ev["similarity"] >= STRONG_SIMILARITY:
        return True
    return ev["coverage"] >= MIN_COVERAGE


def refusal_text(question: str, hits: Sequence[ArticleHit]) -> str:
    topic = question.strip().rstrip("?.! ")
    text = f"The archive has no article that answers this: \u201c{topic}\u201d."
    if hits:
        text += " The closest articles are listed below."
    return text
