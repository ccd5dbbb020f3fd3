"""The extractive answerer: answers made only of verbatim sentences from the retrieved passages.

No language model. For a question and the ranked articles it

1. splits the top passages of the top articles into sentences (`split_sentences`), skipping
   junk: headings, copyright lines, the headline, fragments under four words and the tail of
   a sentence cut at a chunk boundary; a leading bullet marker ("- ") is left out of the span;
2. scores each sentence: the IDF-weighted share of the question's content stems it contains
   (IDF over the candidate sentences, so a word found everywhere counts for little; a
   sentence naming whom the question describes, `retriever.names`, holds the description's
   words: "Mr Brown" answers for "the chancellor"), plus half
   the share of its best neighbour (answers often follow the sentence that names the topic),
   times a prior for the rank of its article and passage (the best-ranked article wins ties)
   and a bonus when it holds the kind of answer asked for ("how many" -> a number, "when" ->
   a date, "who" -> a name); within the article of the best such sentence, a sentence also
   gains a quarter of its similarity to the question as the sentence reader measured it
   (`retriever.reader`), which tells the sentence that answers from those that share words;
3. picks sentences greedily by gain, where question terms already covered count for less and
   the answer-type bonus is larger until a sentence of that type is chosen (so "how many X,
   and why Y?" gets both parts); drops near-duplicates (overlapping chunks and duplicate
   articles repeat sentences: Jaccard / containment on word sets); keeps a quote with its
   speaker: a sentence that starts with a pronoun, follows a line ending in ':' or is part of
   an unattributed (or "he said") quote brings along the sentence that introduces or
   attributes it (see `retriever.candidates`);
4. stops at the article of the first pick unless the question asks for several facts
   (`asks_for_several`: "..., and who ...", comparisons, "each", "both"): sentences from other
   articles added after the answer is found mostly cite what was not asked;
5. orders the chosen sentences by article rank, then by position in the article, within a
   budget of five sentences / 120 words (the first pick always fits).

Every sentence is followed by " [n]", numbering the passages in order of first citation;
sentences of one article are joined by a space, articles by a blank line.
`Citation.quote` is the cited text of that passage: the span of the cited sentences if they are
contiguous in the passage, otherwise the first cited sentence. Both are verbatim slices of
`passage.text`, as is every sentence of the answer. If no sentence matches the question at all,
the answer is the first proper sentence of the best passage.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence

from newsdesk.core.text import content_terms, terms_match, word_set, words
from newsdesk.core.types import ArticleHit, Citation, Composed
from newsdesk.retriever.candidates import (
    Candidate,
    cited_quote,
    overlaps,
    passage_candidates,
    with_context,
)
from newsdesk.retriever.constraints import asks_for_several

log = logging.getLogger(__name__)

# The sentence reader's similarity in a sentence's gain, within the home article (see
# _add_similarity); chosen by leave-one-set-out cross-validation over 0, 0.25, 0.5 and 1.0.
SENTENCE_WEIGHT = 0.25
_COVERED_WEIGHT = 0.3  # what a question term already answered is worth in the next pick

# What kind of answer the question wants, and how to spot a sentence that has one.
_QUESTION_TYPES = [
    (
        "number",
        re.compile(
            r"\bhow (?:many|much|long|big|old|fast|far|high|large|often|tall|heavy|deep)\b"
            r"|\bwhat (?:time|age|percentage|proportion|price|fee|fine|sum|amount|share|rate)\b"
            r"|\bat what age\b|\bby how much\b|\bcost\b",
            re.IGNORECASE,
        ),
    ),
    # "when" / "who" as question words, not as conjunction or relative pronoun
    ("when", re.compile(r"(?:^|[,;]\s*|\band\s+)when\b|\bwhat (?:date|day|year|month)\b", re.I)),
    ("who", re.compile(r"(?:^|[,;]\s*|\band\s+)(?:who|whom|whose)\b", re.IGNORECASE)),
]
_TYPE_BONUS = 1.25  # a sentence with the wanted kind of answer
_TYPE_NEEDED_BONUS = 2.0  # ... while no chosen sentence has one yet
ARTICLE_RANK_WEIGHT = 0.25  # how much a lower-ranked article's sentences are discounted
_NEIGHBOUR_WEIGHT = 0.5  # answers often sit next to the sentence that names the topic
_NUMBER_WORDS = word_set(
    """two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty
    hundred thousand million billion half quarter dozen"""
)
_WHEN_WORDS = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march"
    r"|april|may|june|july|august|september|october|november|december|yesterday|today"
    r"|tomorrow|week|month|year|(?:19|20)\d\d)\b",
    re.IGNORECASE,
)


def answer_type(question: str) -> str:
    """ "number", "when", "who" or "" for the kind of answer the question asks for."""
    for name, pattern in _QUESTION_TYPES:
        if pattern.search(question):
            return name
    return ""


def _has_answer_type(text: str, wanted: str, question_tokens: frozenset[str]) -> bool:
    """Does the sentence hold something of the wanted kind that the question lacks?"""
    if wanted == "number":
        return any(
            (w[0].isdigit() or w in _NUMBER_WORDS) and w not in question_tokens for w in words(text)
        )
    if wanted == "when":
        return bool(_WHEN_WORDS.search(text))
    names = re.findall(r"(?<=[\w,;:] )[A-Z][a-z]+", text)
    return any(n.lower() not in question_tokens for n in names)


class ExtractiveAnswerer:
    """Answers by quoting the retrieved sentences that best cover the question."""

    def __init__(
        self,
        *,
        max_articles: int = 5,
        max_passages: int = 3,
        max_sentences: int = 5,
        max_words: int = 120,
        min_relative_score: float = 0.5,
        duplicate_jaccard: float = 0.6,
        sentence_weight: float = SENTENCE_WEIGHT,
        names: Callable[[str], list[tuple[list[str], list[str]]]] | None = None,
    ) -> None:
        self.max_articles = max_articles
        self.max_passages = max_passages
        self.max_sentences = max_sentences
        self.max_words = max_words
        self.min_relative_score = min_relative_score
        self.duplicate_jaccard = duplicate_jaccard
        self.sentence_weight = sentence_weight
        self.names = names

    # ------------------------------------------------------------ public
    def compose(self, question: str, hits: Sequence[ArticleHit]) -> Composed:
        by_passage = self._sentences(hits)
        candidates = [s for sents in by_passage.values() for s in sents if not s.junk]
        wanted = self._score(question, candidates, by_passage, hits)
        one_article = not asks_for_several(question)
        chosen = self._select(candidates, by_passage, wanted, one_article=one_article)
        if not chosen:
            chosen = self._fallback(hits, by_passage)
        if not chosen:
            return Composed(text="", citations=(), notice="no passages to answer from")
        composed = _render(chosen)
        log.debug(
            "extractive answer: %d sentences from %d passages",
            len(chosen),
            len(composed.citations),
        )
        return composed

    def stream(self, question: str, hits: Sequence[ArticleHit]) -> Iterator[str | Composed]:
        """Yield the answer sentence by sentence (each with its marker), then the Composed."""
        composed = self.compose(question, hits)
        yield from _pieces(composed.text)
        yield composed

    # ------------------------------------------------------------ steps
    def _sentences(self, hits: Sequence[ArticleHit]) -> dict[str, list[Candidate]]:
        by_passage: dict[str, list[Candidate]] = {}
        for a, hit in enumerate(hits[: self.max_articles]):
            for p, passage in enumerate(hit.passages[: self.max_passages]):
                if passage.chunk_id in by_passage:
                    continue
                by_passage[passage.chunk_id] = passage_candidates(passage, a, p)
        return by_passage

    def _score(
        self,
        question: str,
        candidates: list[Candidate],
        by_passage: dict[str, list[Candidate]],
        hits: Sequence[ArticleHit] = (),
    ) -> str:
        """Fill in each sentence's matches with the question (IDF-weighted share of its
        content stems), neighbour context, rank prior and answer type; return the type."""
        q_terms = list(dict.fromkeys(content_terms(question)))
        for s in candidates:
            s.terms = list(dict.fromkeys(content_terms(s.text)))
            s.tokens = frozenset(words(s.text))
        wanted = answer_type(question)
        if not q_terms or not candidates:
            return wanted
        n = len(candidates)
        idf: dict[str, float] = {}
        for q in q_terms:
            df = sum(1 for s in candidates if any(terms_match(q, t) for t in s.terms))
            idf[q] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        total = sum(idf.values())
        q_tokens = frozenset(words(question))
        named = self.names(question) if self.names else []
        for s in candidates:
            for q in q_terms:
                m = max((terms_match(q, t) for t in s.terms), default=0.0)
                if m > 0.0:
                    s.matches[q] = idf[q] * m / total
            for key, name in named:  # "Mr Brown" answers for "the chancellor"
                if name and name[-1] in s.terms:
                    for q in key:
                        if q in idf:
                            s.matches[q] = max(s.matches.get(q, 0.0), idf[q] / total)
            s.prior = (
                1.0 / (1.0 + ARTICLE_RANK_WEIGHT * s.article_rank) / (1.0 + 0.1 * s.passage_rank)
            )
            s.typed = bool(wanted) and _has_answer_type(s.text, wanted, q_tokens)
        for sentences in by_passage.values():
            for i, s in enumerate(sentences):
                near = [sentences[j] for j in (i - 1, i + 1) if 0 <= j < len(sentences)]
                s.context = _NEIGHBOUR_WEIGHT * max((x.relevance for x in near), default=0.0)
        for s in candidates:
            if s.matches or (s.typed and s.context > 0.0):
                s.score = _gain(s, set(), type_needed=False)
        if self.sentence_weight > 0:
            self._add_similarity(candidates, hits)
        return wanted

    def _add_similarity(self, candidates: list[Candidate], hits: Sequence[ArticleHit]) -> None:
        """Within the article the words point to (that of the best-scoring sentence), a
        sentence the reader found close to the question gains `sentence_weight` times its
        cosine similarity (matched by where it starts in the article). Only there: across
        articles, a sentence that restates the question would outscore the one that answers."""
        scored = [s for s in candidates if s.score > 0.0]
        if not scored:
            return
        home = min(scored, key=lambda s: (-s.score, s.article_rank, s.passage_rank, s.offset))
        doc = home.passage.doc_id
        read: dict[int, float] = {}
        for hit in hits:
            if hit.passages and hit.passages[0].doc_id == doc:
                read.update(hit.sentences)
        for s in scored:
            sim = read.get(s.offset) if s.passage.doc_id == doc else None
            if sim is not None and sim > 0:
                s.dense = self.sentence_weight * sim
                s.score = _gain(s, set(), type_needed=False)

    def _select(
        self,
        candidates: list[Candidate],
        by_passage: dict[str, list[Candidate]],
        wanted: str,
        *,
        one_article: bool = False,
    ) -> list[Candidate]:
        """Greedy. A sentence is eligible while its score is at least `min_relative_score`
        of the best score, or its gain is at least that share of the first pick's gain. The
        gain discounts question terms that chosen sentences already cover and favours a
        sentence of the wanted answer type ("how many" -> a number) until one is chosen, so a
        two-part question gets both parts answered. With `one_article` (the question asks
        for one fact) the answer stops at the article of its first pick: sentences from
        other articles, added after the answer is found, mostly cite what is not asked."""
        pool = [s for s in candidates if s.score > 0.0]
        if not pool:
            return []
        floor = max(s.score for s in pool) * self.min_relative_score
        chosen: list[Candidate] = []
        covered: set[str] = set()
        n_words = 0
        first_gain = 0.0
        type_needed = bool(wanted)
        while pool and len(chosen) < self.max_sentences and n_words < self.max_words:
            gains = {id(s): _gain(s, covered, type_needed) for s in pool}
            gain_floor = first_gain * self.min_relative_score
            eligible = [s for s in pool if s.score >= floor or gains[id(s)] >= gain_floor]
            if one_article and chosen:
                home = chosen[0].passage.doc_id
                eligible = [s for s in eligible if s.passage.doc_id == home]
            if not eligible:
                break
            best = min(
                eligible,
                key=lambda s: (-gains[id(s)], s.article_rank, s.passage_rank, s.offset),
            )
            pool.remove(best)
            if not chosen:
                first_gain = gains[id(best)]
            if self._is_duplicate(best, chosen):
                continue
            context = with_context(best, by_passage[best.passage.chunk_id])
            group = [c for c in context if c not in chosen]
            group = [c for c in group if c is best or not self._is_duplicate(c, chosen)]
            extra = sum(c.n_words for c in group)
            too_long = n_words + extra > self.max_words
            too_many = len(chosen) + len(group) > self.max_sentences
            if chosen and (too_long or too_many):
                continue
            chosen.extend(group)
            n_words += extra
            covered.update(q for c in group for q in c.matches)
            type_needed = type_needed and not best.typed
        return chosen

    def _fallback(
        self, hits: Sequence[ArticleHit], by_passage: dict[str, list[Candidate]]
    ) -> list[Candidate]:
        """Nothing matched the question: the first proper sentence of the best passage."""
        if not hits or not hits[0].passages:
            return []
        sentences = by_passage.get(hits[0].best.chunk_id, [])
        for s in sentences:
            if not s.junk:
                return [s]
        return sentences[:1]

    def _is_duplicate(self, s: Candidate, chosen: list[Candidate]) -> bool:
        for c in chosen:
            if c.passage.doc_id == s.passage.doc_id and overlaps(c, s):
                return True
            a, b = s.tokens or frozenset(words(s.text)), c.tokens or frozenset(words(c.text))
            if not a or not b:
                continue
            inter = len(a & b)
            if inter / len(a | b) >= self.duplicate_jaccard:
                return True
            if min(len(a), len(b)) >= 5 and inter / min(len(a), len(b)) >= 0.85:
                return True
        return False


def _render(chosen: list[Candidate]) -> Composed:
    ordered = sorted(chosen, key=lambda s: (s.article_rank, s.offset, s.passage_rank))
    numbers: dict[str, int] = {}
    cited: dict[str, list[Candidate]] = {}
    parts: list[str] = []
    previous: Candidate | None = None
    for s in ordered:
        cid = s.passage.chunk_id
        n = numbers.setdefault(cid, len(numbers) + 1)
        cited.setdefault(cid, []).append(s)
        if previous is not None:
            parts.append(" " if previous.article_rank == s.article_rank else "\n\n")
        parts.append(f"{s.text} [{n}]")
        previous = s
    citations = tuple(
        Citation(n=numbers[cid], passage=sents[0].passage, quote=cited_quote(sents))
        for cid, sents in cited.items()
    )
    return Composed(text="".join(parts), citations=citations)


def _gain(s: Candidate, covered: set[str], type_needed: bool) -> float:
    """What choosing `s` adds: its matches (those already covered count `_COVERED_WEIGHT`),
    plus neighbour context, times its rank prior and answer-type bonus."""
    own = sum(v * (_COVERED_WEIGHT if q in covered else 1.0) for q, v in s.matches.items())
    bonus = 1.0
    if s.typed:
        bonus = _TYPE_NEEDED_BONUS if type_needed else _TYPE_BONUS
    return (own + s.context + s.dense) * s.prior * bonus


def _pieces(text: str) -> Iterator[str]:
    """Split an answer into per-sentence pieces that join back to `text`."""
    last = 0
    for m in re.finditer(r" \[\d+\]", text):
        yield text[last : m.end()]
        last = m.end()
    if last < len(text):
        yield text[last:]
