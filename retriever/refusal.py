"""Deciding that the archive does not hold the answer, and saying so.

Evidence from the best articles, whatever the retrieval mode:
- similarity: cosine similarity of the question to the best passage (meaning);
- coverage: the IDF-weighted share of the question's content terms found in the single best
  passage (a fact is usually stated in one place).

A question is refused when the best passage is far in meaning (similarity under
MIN_SIMILARITY), or only loosely related and missing much of the question (similarity under
WEAK_SIMILARITY and coverage under MIN_COVERAGE). Tuned on ../shared/evals (102 answerable
questions, 10 near-miss `null` questions) plus 20 off-topic questions; README shows the sweep.
Near-miss questions (right people, wrong event) mostly look answerable to these features:
refusing them would cost far more false refusals than it saves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from newsdesk.core.text import content_terms
from newsdesk.core.types import ArticleHit

MIN_SIMILARITY = 0.30
WEAK_SIMILARITY = 0.42
MIN_COVERAGE = 0.70
TOP_ARTICLES = 3

Idf = Callable[[str], float]


def _length_idf(term: str) -> float:
    """Without corpus statistics, longer terms stand in for rarer ones."""
    return math.log(2 + len(term))


def coverage(question: str, hits: Sequence[ArticleHit], idf: Idf | None = None) -> float:
    """Best share, over the top passages, of the question's IDF-weighted terms they contain."""
    weigh = idf or _length_idf
    q_terms = list(dict.fromkeys(content_terms(question)))
    if not q_terms:
        return 0.0
    weights = {t: weigh(t) for t in q_terms}
    total = sum(weights.values()) or 1.0
    best = 0.0
    for hit in hits[:TOP_ARTICLES]:
        for p in hit.passages:
            present = set(content_terms(f"{p.title} {p.text}"))
            best = max(best, sum(w for t, w in weights.items() if t in present) / total)
    return best


def evidence(question: str, hits: Sequence[ArticleHit], idf: Idf | None = None) -> dict[str, float]:
    if not hits:
        return {"similarity": 0.0, "coverage": 0.0}
    best_sim = max(p.similarity for h in hits[:TOP_ARTICLES] for p in h.passages)
    return {"similarity": best_sim, "coverage": coverage(question, hits, idf)}


def is_answerable(question: str, hits: Sequence[ArticleHit], idf: Idf | None = None) -> bool:
    if not hits:
        return False
    ev = evidence(question, hits, idf)
    if ev["similarity"] < MIN_SIMILARITY:
        return False
    return not (ev["similarity"] < WEAK_SIMILARITY and ev["coverage"] < MIN_COVERAGE)


def refusal_text(question: str, hits: Sequence[ArticleHit]) -> str:
    topic = question.strip().rstrip("?.! ")
    text = f"The archive has no article that answers this: \u201c{topic}\u201d."
    if hits:
        text += " The closest articles are listed below."
    return text
