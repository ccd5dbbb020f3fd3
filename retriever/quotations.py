"""Who said what, from the quotes mined at ingest (`newsdesk.nlp.quotes`).

`find_quotes(rows, speaker=..., query=...)` picks from the archive's quotes (as
`Ledger.iter_quotes` yields them, newest first) those of a speaker and those about a topic. A
speaker matches by name as a reader types it: "Gordon Brown", "Brown" or "brown" all find
Gordon Brown's quotes (every word typed must be a word of the speaker's name). A topic matches
by the question's content terms (stemmed, as the search reads them): quotes holding more of
them come first, newest first among equals; with no topic the order is newest first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from newsdesk.core.text import content_terms, words
from newsdesk.core.types import Article, Citation, Composed, Quote
from newsdesk.retriever.citations import span_passage


@dataclass(frozen=True)
class QuoteHit:
    """A quote and the article it is in."""

    doc_id: str
    published: str
    quote: Quote

    def to_json(self) -> dict[str, object]:
        q = self.quote
        return {
            "doc_id": self.doc_id,
            "speaker": q.speaker,
            "mention": q.mention,
            "quote": q.text,
            "start": q.start,
            "end": q.end,
            "published": self.published or None,
            "attribution": q.attribution,
        }


# "Who said 'everything is up to Ukraine'?": a question after the speaker of a quotation
_WHO_SAID = re.compile(
    r"^\W*who\s+(?:said|says|told|wrote|warned|declared|claimed|insisted|remarked|added)\b"
    r"[^\"\u201c\u2018']*[\"\u201c\u2018'](?P<phrase>[^\"\u201d\u2019]{3,300}?)[\"\u201d\u2019']",
    re.IGNORECASE,
)


def quoted_phrase(question: str) -> str | None:
    """The quotation a "Who said '...'?" question asks about, else None."""
    m = _WHO_SAID.search(question)
    return m.group("phrase").strip() if m and len(words(m.group("phrase"))) >= 2 else None


def holds_phrase(quote: str, phrase: str) -> bool:
    """Does `quote` hold the words of `phrase`, in order and together (case, punctuation
    and spacing aside)?"""
    wanted, said = words(phrase), words(quote)
    n = len(wanted)
    return n > 0 and any(said[i : i + n] == wanted for i in range(len(said) - n + 1))


_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "sir", "dame", "prof"})


def speaker_matches(speaker: str | None, name: str) -> bool:
    """Is every word of `name`, honorifics aside, a word of `speaker` ("Brown" and
    "Mr Brown" in "Gordon Brown")?"""
    wanted = set(words(name)) - _HONORIFICS
    return bool(speaker) and bool(wanted) and wanted <= set(words(speaker or ""))


def find_quotes(
    rows: Iterable[tuple[str, str, Quote]],
    *,
    speaker: str | None = None,
    query: str | None = None,
    phrase: str | None = None,
    limit: int | None = None,
) -> list[QuoteHit]:
    """The quotes of `rows` by `speaker` about `query` that hold `phrase` (any may be None:
    any)."""
    terms = set(content_terms(query)) if query else set()
    scored: list[tuple[int, int, QuoteHit]] = []
    for order, (doc_id, published, quote) in enumerate(rows):
        if speaker is not None and not speaker_matches(quote.speaker, speaker):
            continue
        if phrase is not None and not holds_phrase(quote.text, phrase):
            continue
        matched = len(terms & set(content_terms(quote.text))) if terms else 0
        if terms and not matched:
            continue
        scored.append((-matched, order, QuoteHit(doc_id, published, quote)))
    scored.sort(key=lambda s: (s[0], s[1]))
    hits = [hit for _, _, hit in scored]
    return hits[:limit] if limit is not None else hits


def topical_quotes(found: Sequence[QuoteHit], topic: str | None, limit: int) -> list[QuoteHit]:
    """Of `found` (one speaker's quotes), those that answer "what did they say about
    `topic`": holding at least half the topic's content terms (rounded up), one per wording
    (a wire story's updates repeat a quote), the newest `limit` (undated last)."""
    terms = set(content_terms(topic)) if topic else set()
    need = math.ceil(len(terms) / 2)
    seen: set[tuple[str, ...]] = set()
    kept: list[QuoteHit] = []
    for hit in found:
        if terms and len(terms & set(content_terms(hit.quote.text))) < need:
            continue
        wording = tuple(words(hit.quote.text))
        if wording in seen:
            continue
        seen.add(wording)
        kept.append(hit)
    kept.sort(key=lambda h: h.published[:10], reverse=True)  # stable: text order among equals
    return kept[:limit]


def _marked(text: str) -> str:
    """A quotation as an answer shows it: inside quotation marks."""
    stripped = text.strip().rstrip(",;:")  # the comma before "he said" is not the speaker's
    if stripped[:1] in "\"\u201c\u2018'" and stripped[-1:] in "\"\u201d\u2019'":
        return stripped
    return f"\u201c{stripped}\u201d"


def compose_quotes(
    hits: Sequence[QuoteHit], article_of: Callable[[str], Article | None]
) -> Composed:
    """One cited line per quote: the speaker, the date when known, the quotation verbatim.
    Each citation's passage is the sentence(s) holding the quotation and its attribution."""
    lines: list[str] = []
    citations: list[Citation] = []
    for hit in hits:
        article = article_of(hit.doc_id)
        if article is None:  # pruned since the quotes were read
            continue
        q = hit.quote
        n = len(citations) + 1
        passage = span_passage(article, q.start, q.end)
        citations.append(Citation(n=n, passage=passage, quote=q.text))
        who = q.speaker or q.mention or "unattributed"
        when = f", {hit.published[:10]}" if hit.published else ""
        lines.append(f"{who}{when}: {_marked(q.text)} [{n}]")
    return Composed(text="\n\n".join(lines), citations=tuple(citations))


__all__ = [
    "QuoteHit",
    "compose_quotes",
    "find_quotes",
    "holds_phrase",
    "quoted_phrase",
    "speaker_matches",
    "topical_quotes",
]
