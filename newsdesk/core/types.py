"""The domain types every package speaks in.

Data flows one way: files -> Article -> Chunk -> index -> Passage -> Answer (with Citations).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, get_args

from newsdesk.core.errors import QuestionError
from newsdesk.core.text import readable_title

# How retrieval ranks: BM25 and dense (cosine) search, or their fusion.
Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = get_args(Mode)

# What became of a question: answered from the archive; the archive covers the subject but no
# article states the asked fact (`not_stated`: the closest evidence is shown, labelled as not
# an answer); or nothing relevant was found (`refused`).
Status = Literal["answered", "not_stated", "refused"]


@dataclass(frozen=True)
class Article:
    """One news article as extracted from a file, record, feed entry or web page."""

    doc_id: str
    title: str
    text: str  # the clean body text; chunk offsets point into this string
    source: str = ""
    published: str = ""  # ISO 8601 date ("2005-03-01") or "" when unknown
    url: str = ""
    category: str = ""
    author: str = ""
    # where each page starts in `text` (page n at pages[n - 1]), for sources printed in pages
    # (PDF); () for the rest
    pages: tuple[int, ...] = ()

    @property
    def headline(self) -> str:
        """The title as a reader should see it (a wire headline in capitals, sentence-cased)."""
        return readable_title(self.title, self.text)


def page_at(pages: tuple[int, ...], offset: int) -> int:
    """The page (from 1) holding character `offset` of a text whose pages start at `pages`;
    0 when the text has no pages."""
    return bisect.bisect_right(pages, offset) if pages else 0


@dataclass(frozen=True)
class Chunk:
    """A slice of an article's text, on sentence boundaries."""

    chunk_id: str
    doc_id: str
    position: int  # 0-based index of the chunk within its article
    start: int  # character offset into Article.text (inclusive)
    end: int  # character offset into Article.text (exclusive)
    text: str  # == article.text[start:end]
    n_tokens: int


@dataclass(frozen=True)
class Entity:
    """A named entity in an article's text: `text == article.text[start:end]`, with the NER
    model's label (PERSON, ORG, GPE, DATE, MONEY, ...)."""

    start: int
    end: int
    label: str
    text: str


@dataclass(frozen=True)
class Descriptor:
    """Words of an article that describe a named entity beside them ("Chancellor" in
    "Chancellor Gordon Brown"): `text[start:end]` as written, the stemmed `key` a question
    is looked up by, the `name` described and the shape it was found in (`kind`: "role",
    "apposition" or "abbreviation"). See `newsdesk.nlp.descriptors`."""

    start: int
    end: int
    key: str
    name: str
    kind: str


@dataclass(frozen=True)
class Quote:
    """A direct quotation in an article: `text == article.text[start:end]`, its speaker's
    canonical name in the article (None when the article does not say), how the article
    names the speaker there (`mention`, "" for a continuation) and how it was attributed
    (`attribution`: explicit, pronoun, description, according_to, continuation or none).
    See `newsdesk.nlp.quotes`."""

    start: int
    end: int
    text: str
    speaker: str | None
    mention: str
    attribution: str


@dataclass(frozen=True)
class Filters:
    """Restrictions on what retrieval may return. Dates are inclusive."""

    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # articles naming every one of these people, orgs, places
    # the articles `names` admit, as the assistant resolves them from the ledger (None: not
    # resolved yet, or no names); what the search applies
    doc_ids: frozenset[str] | None = None

    @property
    def has_date(self) -> bool:
        return self.since is not None or self.until is not None

    def admits_date(self, published: str) -> bool:
        """Does the date range admit an article published on `published` (ISO, "" when
        undated)? An undated article is in no range, so only a filter without dates admits it."""
        if not self.has_date:
            return True
        day = published[:10]
        lo = self.since.isoformat() if self.since else ""
        hi = self.until.isoformat() if self.until else "9999"
        return bool(day) and lo <= day <= hi

    def is_empty(self) -> bool:
        return not (self.has_date or self.sources or self.categories or self.doc_ids is not None)


def check_date_range(since: date | None, until: date | None) -> None:
    """Reject a range a reader set backwards (the UI's date boxes, the CLI's --since/--until);
    date words in a question that narrow to nothing are a preference, not checked here."""
    if since and until and since > until:
        raise QuestionError(f"the 'since' date {since} is after the 'until' date {until}")


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score and its article's metadata."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    position: int
    score: float
    title: str = ""
    source: str = ""
    published: str = ""
    url: str = ""
    category: str = ""
    aliases: tuple[str, ...] = ()
    similarity: float = 0.0  # cosine similarity of the chunk to the question (dense evidence)
    lexical: float = 0.0  # BM25 score of the chunk (lexical evidence)
    pages: tuple[int, ...] = ()  # the article's page starts (Article.pages); () for most

    @property
    def page(self) -> int:
        """The page the passage starts on (from 1); 0 when its article has no pages."""
        return page_at(self.pages, self.start)

    @property
    def headline(self) -> str:
        """The title as a reader should see it (a wire headline in capitals, sentence-cased)."""
        return readable_title(self.title, self.text)


@dataclass(frozen=True)
class ArticleHit:
    """An article in the ranked result list, with its best passages."""

    doc_id: str
    score: float
    passages: tuple[Passage, ...]
    aliases: tuple[str, ...] = ()
    # (start offset in the article text, cosine similarity to the question) of each sentence
    # the sentence reader read; empty when it did not read this article.
    sentences: tuple[tuple[int, float], ...] = ()

    @property
    def best(self) -> Passage:
        return self.passages[0]


@dataclass(frozen=True)
class Citation:
    """What an `[n]` in an answer points to."""

    n: int
    passage: Passage
    quote: str = ""  # the cited sentence(s), verbatim from passage.text

    @property
    def page(self) -> int:
        """The page the quotation starts on (from 1; where the passage starts when the quote
        is not in it verbatim); 0 when the article has no pages."""
        return self.page_span[0]

    @property
    def page_span(self) -> tuple[int, int]:
        """The first and last page of the quotation ((0, 0) when the article has no pages)."""
        p = self.passage
        at = p.text.find(self.quote) if self.quote else -1
        start = p.start + max(at, 0)
        end = start + len(self.quote) - 1 if at >= 0 and self.quote else start
        return page_at(p.pages, start), page_at(p.pages, end)

    @property
    def page_label(self) -> str:
        """ "p. 3", "pp. 3-4", or "" for a source with no pages."""
        first, last = self.page_span
        if not first:
            return ""
        return f"p. {first}" if first == last else f"pp. {first}-{last}"


@dataclass(frozen=True)
class Answer:
    """An answer and the evidence it rests on."""

    question: str
    standalone_question: str
    text: str  # the answer; for a non-answer, the one line that says why
    citations: tuple[Citation, ...]
    status: Status = "answered"
    retrieved: tuple[ArticleHit, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    unsupported: tuple[str, ...] = ()  # generated sentences with no supporting citation
    notice: str = ""  # e.g. "LLM server unavailable; answered extractively"
    evidence: str = ""  # not_stated: the closest evidence, cited by `citations`; not an answer

    @property
    def refused(self) -> bool:
        """Not answered (refused or not stated): what clients before `status` test."""
        return self.status != "answered"


@dataclass(frozen=True)
class Composed:
    """What an answerer produces from the question and the ranked articles."""

    text: str
    citations: tuple[Citation, ...]
    unsupported: tuple[str, ...] = ()
    notice: str = ""


@dataclass(frozen=True)
class DateSpan:
    """The publication dates of an archive: the oldest and newest, and how many articles
    carry a date at all (many archives are partly or wholly undated)."""

    earliest: date | None
    latest: date | None
    dated: int
    articles: int

    @property
    def mostly_dated(self) -> bool:
        """Do the dates describe the archive? Only when most of its articles have one."""
        return self.earliest is not None and self.dated * 2 > self.articles

    def years(self) -> str:
        """ "1987", "2004-2005": the years the dated articles span."""
        if self.earliest is None or self.latest is None:
            return ""
        first, last = self.earliest.year, self.latest.year
        return str(first) if first == last else f"{first}-{last}"


@dataclass(frozen=True)
class IndexStats:
    """What an index holds: counts, names, the date span and the embedding model it is built
    with. `aliases` counts duplicate files folded into an article they repeat."""

    articles: int
    chunks: int
    aliases: int = 0
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    earliest: str | None = None  # ISO 8601 date of the oldest dated article
    latest: str | None = None
    embedding_model: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The `newsdesk stats --json` object (its keys and their order are a contract)."""
        return {
            "articles": self.articles,
            "chunks": self.chunks,
            "sources": list(self.sources),
            "earliest": self.earliest,
            "latest": self.latest,
            "embedding_model": self.embedding_model,
            "aliases": self.aliases,
            "categories": list(self.categories),
        }
