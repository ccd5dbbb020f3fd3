"""What an answerer is, and what retrieval hands it: the read side's own protocols.

`Retrieval` is the outcome of finding evidence for one question; an `Answerer` turns the
question and the ranked articles into cited text. Both live here, with the side that
defines them, so the composition root, the evals and the answerers all import them from one
place below them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from newsdesk.core.types import ArticleHit, Composed, Filters


class Answerer(Protocol):
    def compose(self, question: str, hits: Sequence[ArticleHit]) -> Composed: ...

    def stream(self, question: str, hits: Sequence[ArticleHit]) -> Iterator[str | Composed]: ...


@dataclass(frozen=True)
class Retrieval:
    question: str
    standalone_question: str
    filters: Filters  # what was applied: the caller's filters merged with date words
    hits: tuple[ArticleHit, ...]
    refused: bool
    seconds: float


__all__ = ["Answerer", "Retrieval"]
