"""Checking a generated answer's citations.

The model is asked to end every sentence with ``[n]`` markers pointing at the numbered
passages of the prompt. What comes back is checked sentence by sentence:

- markers are parsed in the forms ``[1]``, ``[1, 2]`` and ``[1][2]``;
- markers that point at no passage are removed;
- citations are renumbered in order of first appearance, so the answer's ``[1]`` is the first
  passage it cites, and ``[1, 2]`` is written ``[1][2]``;
- sentences left without a valid citation are reported as unsupported (the text keeps them);
- each citation's quote is the passage sentence sharing the most words with the answer
  sentences that cite it.

`CitationChecker` does this incrementally, so a streamed answer can be shown sentence by
sentence, already clean; `check_answer` is the one-shot form. Both give the same result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from newsdesk.core.text import content_terms, split_sentences
from newsdesk.core.types import Article, Citation, Composed, Passage
from newsdesk.retriever.prompts import NO_ANSWER

MARKER = re.compile(r"\[(\d{1,3}(?:[ \t]*,[ \t]*\d{1,3})*)\]")
_ONLY_MARKER_CHARS = re.compile(r"[\s\[\]\d,]*")
_FINISHED = re.compile(r"""(?:[.!?]["'\u201d\u2019)]*|\])\s*$""")
_GLUED = re.compile(r"(?<=\w)\[(?=\d)")


def span_passage(article: Article, start: int, end: int) -> Passage:
    """A passage of `article` for citing `article.text[start:end]` (a quotation, a timeline's
    lead sentence): the whole sentence(s) holding that span, with the article's metadata."""
    text = article.text
    spans = split_sentences(text)
    lo = min((s for s, e in spans if s <= start < e), default=start)
    hi = max((e for s, e in spans if s < end <= e), default=end)
    lo, hi = min(lo, start), max(hi, end)
    return Passage(
        chunk_id=f"{article.doc_id}@{lo}-{hi}",
        doc_id=article.doc_id,
        text=text[lo:hi],
        start=lo,
        end=hi,
        position=-1,
        score=0.0,
        title=article.title,
        source=article.source,
        published=article.published,
        url=article.url,
        category=article.category,
        pages=article.pages,
    )


def parse_markers(text: str) -> list[list[int]]:
    """The numbers of each citation marker, in order: "a [1, 2] b [3]" -> [[1, 2], [3]]."""
    return [[int(x) for x in m.group(1).split(",")] for m in MARKER.finditer(text)]


def strip_markers(text: str) -> str:
    """`text` without its citation markers, spaces tidied."""
    out = MARKER.sub("", text)
    out = re.sub(r"[ \t]+(?=[.,;:!?]|$)", "", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence offsets in `text`, with citation markers attached to their sentence.

    Markers are blanked out before splitting, so "left.[4] Then" still ends a sentence after
    "left."; a marker between two sentences ("One. [1] Two.") belongs to the one before it,
    markers before the first sentence to the first.
    """
    markers = [(m.start(), m.end()) for m in MARKER.finditer(text)]
    masked = MARKER.sub(lambda m: " " * len(m.group(0)), text)
    spans = [list(span) for span in split_sentences(masked)]
    if not spans:
        return [(markers[0][0], markers[-1][1])] if markers else []
    i = 0
    for start, end in markers:
        while i + 1 < len(spans) and start >= spans[i + 1][0]:
            i += 1
        if start < spans[i][0]:  # before the first sentence
            spans[i][0] = min(spans[i][0], start)
        spans[i][1] = max(spans[i][1], end)
    return [(s, e) for s, e in spans]


def _has_content(text: str) -> bool:
    """Is `text` more than (part of) a citation marker?"""
    rest = text[_ONLY_MARKER_CHARS.match(text).end() :]  # type: ignore[union-attr]
    return bool(rest.strip())


def _separator(gap: str) -> str:
    newlines = gap.count("\n")
    return "\n\n" if newlines >= 2 else "\n" if newlines == 1 else " "


def _is_no_answer(sentence: str) -> bool:
    return strip_markers(sentence).casefold() == NO_ANSWER.casefold()


def best_quote(passage_text: str, claims: Sequence[str]) -> str:
    """The sentence of `passage_text` sharing the most content words with any of `claims`
    (verbatim; the earlier sentence on ties; the first sentence when nothing is shared)."""
    spans = split_sentences(passage_text)
    if not spans:
        return ""
    claim_terms = [set(content_terms(strip_markers(c))) for c in claims]
    best, best_score = spans[0], 0
    for span in spans:
        terms = set(content_terms(passage_text[span[0] : span[1]]))
        score = max((len(terms & ct) for ct in claim_terms), default=0)
        if score > best_score:
            best, best_score = span, score
    return passage_text[best[0] : best[1]]


class CitationChecker:
    """Cleans a generated answer sentence by sentence as it arrives.

    `feed(delta)` returns the text that is now final (whole, cleaned sentences with their
    separators; often ""), `finish()` the rest. The pieces joined are `composed().text`.
    """

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = tuple(passages)
        self._pending = ""  # raw text received and not yet emitted
        self._parts: list[str] = []
        self._renumber: dict[int, int] = {}  # prompt passage number -> answer number
        self._claims: dict[int, list[str]] = {}  # answer number -> sentences citing it
        self._unsupported: list[str] = []

    @property
    def text(self) -> str:
        """The cleaned text emitted so far."""
        return "".join(self._parts)

    def feed(self, delta: str) -> str:
        self._pending += delta
        spans = sentence_spans(self._pending)
        if len(spans) < 2 or not _has_content(self._pending[spans[-1][0] : spans[-1][1]]):
            return ""
        return self._emit(spans[:-1])

    def finish(self, *, complete: bool = True) -> str:
        """Emit what is left. With `complete=False` (the stream broke off) a trailing sentence
        that does not look finished is dropped."""
        spans = sentence_spans(self._pending)
        if not complete and spans and not _FINISHED.search(self._pending[: spans[-1][1]]):
            spans = spans[:-1]
        out = self._emit(spans) if spans else ""
        self._pending = ""
        return out

    def composed(self, notice: str = "") -> Composed:
        citations = []
        for old, new in sorted(self._renumber.items(), key=lambda item: item[1]):
            passage = self.passages[old - 1]
            quote = best_quote(passage.text, self._claims.get(new, []))
            citations.append(Citation(n=new, passage=passage, quote=quote))
        return Composed(
            text=self.text,
            citations=tuple(citations),
            unsupported=tuple(self._unsupported),
            notice=notice,
        )

    # ------------------------------------------------------------ internals
    def _emit(self, spans: Sequence[tuple[int, int]]) -> str:
        out: list[str] = []
        previous_end = 0
        for start, end in spans:
            sentence, numbers = self._clean(self._pending[start:end])
            previous_gap = self._pending[previous_end:start]
            previous_end = end
            if not sentence:
                continue
            if self._parts or out:
                out.append(_separator(previous_gap))
            out.append(sentence)
            self._record(sentence, numbers)
        self._pending = self._pending[previous_end:]
        piece = "".join(out)
        if piece:
            self._parts.append(piece)
        return piece

    def _clean(self, sentence: str) -> tuple[str, list[int]]:
        """Renumber valid markers, drop invalid ones; returns the text and its answer numbers."""
        pieces: list[str] = []
        numbers: list[int] = []
        pos = 0
        dropped = False
        for m in MARKER.finditer(sentence):
            kept: list[int] = []
            for old in (int(x) for x in m.group(1).split(",")):
                if 1 <= old <= len(self.passages):
                    new = self._renumber.setdefault(old, len(self._renumber) + 1)
                    if new not in kept:
                        kept.append(new)
            before = sentence[pos : m.start()]
            if kept:
                pieces.append(before + "".join(f"[{n}]" for n in kept))
                numbers.extend(n for n in kept if n not in numbers)
            else:
                pieces.append(before.rstrip(" \t"))
                dropped = True
            pos = m.end()
        pieces.append(sentence[pos:])
        text = "".join(pieces)
        if dropped:
            text = re.sub(r"[ \t]{2,}", " ", text)
            text = re.sub(r"^[ \t]+|(?<=\S)[ \t]+(?=[.,;:!?])", "", text)
        text = _GLUED.sub(" [", text).strip()
        return text, numbers

    def _record(self, sentence: str, numbers: list[int]) -> None:
        for n in numbers:
            self._claims.setdefault(n, []).append(sentence)
        if numbers or _is_no_answer(sentence) or not any(ch.isalnum() for ch in sentence):
            return
        self._unsupported.append(strip_markers(sentence))


def check_answer(text: str, passages: Sequence[Passage]) -> Composed:
    """Check a whole generated answer against the numbered `passages` of its prompt."""
    checker = CitationChecker(passages)
    checker.feed(text)
    checker.finish()
    return checker.composed()
