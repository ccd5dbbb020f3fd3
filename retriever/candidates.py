"""Candidate sentences for the extractive answerer, and what a sentence needs to be read alone.

`passage_candidates` splits a passage into `Candidate`s (verbatim spans of `passage.text`; a
leading bullet marker is left out), marks junk (headings, copyright lines, the headline,
fragments under four words, the tail of a sentence cut at a chunk boundary) and tracks
quotations across sentences. `with_context` adds the sentence that introduces or attributes a
chosen one: a sentence that starts with a pronoun or follows a line ending in ':' brings the
sentence before it; a quote without a speaker (or with only "he said") brings the sentence
that closes and attributes it, or the one before the quotation began.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from newsdesk.core.text import split_sentences, words
from newsdesk.core.types import Passage

_BULLET = re.compile(r"[-*\u2022\u2013\u2014]\s+")
_JUNK = re.compile(
    r"\u00a9|\bcopyright\b|all rights reserved|^(?:advertisement|related:|read more|share this"
    r"|click here|sign up|subscribe)",
    re.IGNORECASE,
)
_PRONOUN_START = re.compile(
    r"(?:he|she|they|it|his|her|their|its|this|that|these|those|the move|the decision)\b",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"\b(?:said|says|say|told|tells|added|adds|according to|asked|explained|warned|argued"
    r"|insisted|stated|wrote|writes|claimed|admitted|noted|declared|announced)\b",
    re.IGNORECASE,
)
_PRONOUN_ATTRIBUTION = re.compile(
    r"\b(?:he|she|they)\s+(?:said|says|added|adds|told|tells|warned|explained|insisted)\b"
    r"|\b(?:said|says|added|adds)\s+(?:he|she)\b",
    re.IGNORECASE,
)
_OPEN_QUOTES = '"\u201c'
_MIN_WORDS = 4
_BRAND_START = re.compile(r"[a-z]+[A-Z]")  # "iPod", "eBay": a sentence may start so


@dataclass(eq=False)
class Candidate:
    """A sentence of a retrieved passage, and what the answerer works out about it."""

    article_rank: int
    passage_rank: int
    passage: Passage
    index: int  # position among the passage's sentences
    start: int  # offsets into passage.text
    end: int
    quote_open_before: bool  # inside a quotation that began in an earlier sentence
    quote_open_after: bool  # a quotation is still open at the end of this sentence
    junk: bool
    terms: list[str] = field(default_factory=list)
    tokens: frozenset[str] = frozenset()
    matches: dict[str, float] = field(default_factory=dict)  # question stem -> weighted match
    context: float = 0.0  # a share of the best neighbour's relevance
    dense: float = 0.0  # from the sentence reader's similarity to the question
    prior: float = 1.0  # for the rank of the article and the passage
    typed: bool = False  # holds the kind of answer the question asks for
    score: float = 0.0  # the gain before anything is chosen

    @property
    def relevance(self) -> float:
        return sum(self.matches.values())

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]

    @property
    def offset(self) -> int:
        """Where the sentence starts in the article text."""
        return self.passage.start + self.start

    @property
    def n_words(self) -> int:
        return len(self.text.split())


def _quote_open_after(text: str, inside: bool) -> bool:
    """Is a quotation open at the end of `text`, given whether one was open at its start?"""
    opens, closes = text.count("\u201c"), text.count("\u201d")
    after = inside
    if opens or closes:
        after = int(inside) + opens - closes > 0
    if text.count('"') % 2:
        after = not after
    return after


def _is_junk(text: str, title: str) -> bool:
    if len(text.split()) < _MIN_WORDS or not any(ch.islower() for ch in text):
        return True
    if text[0].islower() and not _BRAND_START.match(text):
        return True  # the tail of a sentence cut at a chunk boundary
    if _JUNK.search(text):
        return True
    return bool(title) and words(text) == words(title)


def passage_candidates(passage: Passage, article_rank: int, passage_rank: int) -> list[Candidate]:
    out: list[Candidate] = []
    inside = False
    for i, (start, end) in enumerate(split_sentences(passage.text)):
        bullet = _BULLET.match(passage.text, start, end)
        if bullet and bullet.end() < end:
            start = bullet.end()
        text = passage.text[start:end]
        after = _quote_open_after(text, inside)
        out.append(
            Candidate(
                article_rank,
                passage_rank,
                passage,
                i,
                start,
                end,
                quote_open_before=inside,
                quote_open_after=after,
                junk=_is_junk(text, passage.title),
            )
        )
        inside = after
    return out


def with_context(s: Candidate, sentences: list[Candidate]) -> list[Candidate]:
    """`s` plus the sentences needed to read it: its introduction or its quote's speaker."""
    before: list[Candidate] = []
    after: list[Candidate] = []
    i = s.index
    text = s.text
    in_quote = s.quote_open_before or text.startswith(tuple(_OPEN_QUOTES))
    if in_quote:
        if _ATTRIBUTION.search(text) and not _PRONOUN_ATTRIBUTION.search(text):
            return [s]  # the quote names its speaker
        closing = None
        if s.quote_open_after and not _ATTRIBUTION.search(text):
            for later in sentences[i + 1 : i + 5]:
                if not later.quote_open_after:
                    closing = later
                    break
            if closing is not None and _ATTRIBUTION.search(closing.text):
                after.append(closing)
        speaker = after[-1].text if after else text
        if not after or _PRONOUN_ATTRIBUTION.search(speaker):
            first = i
            while first > 0 and sentences[first].quote_open_before:
                first -= 1
            if first > 0:
                before.append(sentences[first - 1])
    elif i > 0 and (_PRONOUN_START.match(text) or sentences[i - 1].text.endswith(":")):
        before.append(sentences[i - 1])
        if i > 1 and _PRONOUN_START.match(sentences[i - 1].text):
            before.insert(0, sentences[i - 2])
    before = [b for b in before if not b.junk or _introduces(b.text)]
    return [*before, s, *after]


def _introduces(text: str) -> bool:
    """A short line such as "He said:" that introduces what follows."""
    return text.endswith(":") and bool(_ATTRIBUTION.search(text))


def overlaps(a: Candidate, b: Candidate) -> bool:
    a_end = a.offset + (a.end - a.start)
    b_end = b.offset + (b.end - b.start)
    return a.offset < b_end and b.offset < a_end


def cited_quote(sentences: list[Candidate]) -> str:
    """The cited text of one passage: the span of its cited sentences if they are
    contiguous, else the first cited sentence."""
    ordered = sorted(sentences, key=lambda s: s.start)
    indices = [s.index for s in ordered]
    passage = ordered[0].passage
    if indices == list(range(indices[0], indices[0] + len(indices))):
        return passage.text[ordered[0].start : ordered[-1].end]
    return ordered[0].text
