"""The composition root: `build_assistant(settings)` wires the index, retrieval and answering.

`Assistant` is what the CLI, the UI and the evals talk to. It holds no UI state: callers pass
the conversation history (earlier user questions) with each question. It ranks through a
`Searcher` and reads facts (stats, articles, dates, example questions) from an `Archive`, both
over one open index; neither holds a lock while it reads, so questions run side by side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date

from newsdesk.core.config import Settings
from newsdesk.core.errors import QuestionError
from newsdesk.core.types import Answer, Article, Composed, Filters, IndexStats, Status
from newsdesk.embedding import Embedder
from newsdesk.retriever.answering import Answerer, Retrieval
from newsdesk.retriever.archive import Archive
from newsdesk.retriever.dates import apply_date_words, reported_within
from newsdesk.retriever.examples import example_questions
from newsdesk.retriever.extractive import ExtractiveAnswerer
from newsdesk.retriever.followup import rewrite_followup
from newsdesk.retriever.intent import Intent, read_intent
from newsdesk.retriever.outcomes import judge
from newsdesk.retriever.quotations import QuoteHit, compose_quotes, quoted_phrase, topical_quotes
from newsdesk.retriever.refusal import is_answerable
from newsdesk.retriever.search import Searcher
from newsdesk.retriever.stories import Story, Timeline, affair, compose_timeline, within

log = logging.getLogger(__name__)


def clean_question(question: str, max_chars: int) -> str:
    """Reject what cannot be a question; strip control characters from what can."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    if len(question) > max_chars:
        raise QuestionError(
            f"the question is {len(question):,} characters long; the limit is {max_chars:,}"
        )
    text = "".join(ch if ch.isprintable() or ch in " \t" else " " for ch in question)
    text = " ".join(text.split())
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question is empty; type a question about the archive")
    return text


class Assistant:
    """Answers questions over one index. Thread-safe for concurrent readers."""

    def __init__(
        self,
        settings: Settings,
        searcher: Searcher,
        answerer: Answerer,
        archive: Archive | None = None,
        evidence_answerer: Answerer | None = None,
    ) -> None:
        """`archive` defaults to one over the searcher's index; `evidence_answerer`, which
        quotes the closest evidence when the archive does not state an answer, to the
        extractive answerer (evidence is verbatim, whatever answers)."""
        self.settings = settings
        self.searcher = searcher
        self.answerer = answerer
        self.archive = archive if archive is not None else Archive(searcher.index)
        self.evidence_answerer = evidence_answerer or ExtractiveAnswerer()

    # ------------------------------------------------------------ retrieval
    def retrieve(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        filters: Filters | None = None,
        mode: str | None = None,
        k: int | None = None,
    ) -> Retrieval:
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        history = [clean_question(h, self.settings.max_question_chars) for h in history if h]
        standalone = rewrite_followup(question, history)
        asked = filters or Filters()
        if asked.names and asked.doc_ids is None:
            asked = replace(asked, doc_ids=self.archive.named_doc_ids(asked.names))
        latest = self.archive.latest_date()
        filters, recency = apply_date_words(standalone, asked, today=latest or date.today())
        if filters != asked and read_intent(standalone).kind != "timeline":
            # the period the question names, and the days its news came in after it; a
            # timeline of a period ("How did X develop in March?") is bounded by it
            filters = reported_within(standalone, filters)
        mode = mode or self.settings.mode
        k = k or self.settings.k
        hits = self.searcher.search(standalone, filters=filters, mode=mode, k=k, recency=recency)
        if filters != asked and len(hits) < k:
            # Dates read from the question are a preference, not a wall: many archives have
            # undated articles, and "profits in 2004" may be reported in 2005. Matches inside
            # the range come first, then the best of the rest.
            seen = {h.doc_id for h in hits}
            rest = self.searcher.search(standalone, filters=asked, mode=mode, k=k, recency=recency)
            hits += [h for h in rest if h.doc_id not in seen][: k - len(hits)]
        phrase = quoted_phrase(standalone)
        if phrase is not None and hits:
            # "Who said '...'?": the articles where someone is quoted saying it come first
            holders = {h.doc_id for h in self.archive.quotes(phrase=phrase)}
            hits = sorted(hits, key=lambda h: h.doc_id not in holders)
        refused = not is_answerable(standalone, hits, idf=self.searcher.idf)
        return Retrieval(
            question, standalone, filters, tuple(hits), refused, time.perf_counter() - started
        )

    # ------------------------------------------------------------ answers
    def ask(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        filters: Filters | None = None,
        mode: str | None = None,
        k: int | None = None,
    ) -> Answer:
        final: Answer | None = None
        for item in self.stream(question, history=history, filters=filters, mode=mode, k=k):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        filters: Filters | None = None,
        mode: str | None = None,
        k: int | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the answer text piece by piece, then the complete `Answer`."""
        r = self.retrieve(question, history=history, filters=filters, mode=mode, k=k)
        timings = {"retrieve": r.seconds * 1000.0}
        started = time.perf_counter()
        listed = self._listed_answer(read_intent(r.standalone_question), r)
        if listed is not None:
            yield listed.text
            timings["answer"] = (time.perf_counter() - started) * 1000.0
            yield self._answer(r, listed, "answered", timings)
            return
        judged = judge(
            r.standalone_question,
            r.hits,
            relevant=not r.refused,
            span=self.archive.date_span(),
            article_text=self._article_text,
            term_share=self.searcher.term_share,
        )
        evidence = ""
        if judged.status == "answered":
            composed = Composed(text="", citations=())
            for item in self.answerer.stream(r.standalone_question, judged.evidence):
                if isinstance(item, Composed):
                    composed = item
                else:
                    yield item
        else:
            yield judged.statement
            composed = Composed(text=judged.statement, citations=())
            if judged.status == "not_stated":
                closest = self.evidence_answerer.compose(r.standalone_question, r.hits)
                composed = Composed(text=judged.statement, citations=closest.citations)
                evidence = closest.text
        timings["answer"] = (time.perf_counter() - started) * 1000.0
        yield self._answer(r, composed, judged.status, timings, evidence)

    @staticmethod
    def _answer(
        r: Retrieval,
        composed: Composed,
        status: Status,
        timings: dict[str, float],
        evidence: str = "",
    ) -> Answer:
        return Answer(
            question=r.question,
            standalone_question=r.standalone_question,
            text=composed.text,
            citations=composed.citations,
            status=status,
            retrieved=r.hits,
            timings_ms=timings,
            unsupported=composed.unsupported,
            notice=composed.notice,
            evidence=evidence,
        )

    def _listed_answer(self, intent: Intent, r: Retrieval) -> Composed | None:
        """The answer to a quote or timeline question (`retriever.intent`), or None when the
        question is plain or the archive holds no such list: the normal path answers it."""
        limit = self.settings.answer_list_lines
        if intent.kind == "who_said" and intent.phrase:
            holders = self._quotes_within(self.archive.quotes(phrase=intent.phrase), r.filters)
            named = [h for h in holders if h.quote.speaker]  # a known speaker is the answer
            picked = topical_quotes(named, None, limit)
            return compose_quotes(picked, self.archive.article) if picked else None
        if intent.kind == "quote" and intent.speaker is not None:
            said = self._quotes_within(self.archive.quotes(speaker=intent.speaker), r.filters)
            picked = topical_quotes(said, intent.topic, limit)
            return compose_quotes(picked, self.archive.article) if picked else None
        if intent.kind == "timeline" and not r.refused:
            timeline = self._timeline_of(r)
            if timeline is None:
                return None
            timeline = within(timeline, r.filters)
            if len(timeline.entries) + len(timeline.undated) < 2:
                return None  # one report is not a development: the plain answer reads better
            return compose_timeline(timeline, self.archive.article, limit)
        return None

    def _quotes_within(self, found: list[QuoteHit], filters: Filters) -> list[QuoteHit]:
        """The quotes of `found` in articles `filters` admit (dates: dated articles only)."""
        if filters.doc_ids is not None:
            found = [h for h in found if h.doc_id in filters.doc_ids]
        found = [h for h in found if filters.admits_date(h.published)]
        if filters.sources or filters.categories:
            kept: list[QuoteHit] = []
            for hit in found:
                article = self.archive.article(hit.doc_id)
                if article is None:
                    continue
                if filters.sources and article.source not in filters.sources:
                    continue
                if filters.categories and article.category not in filters.categories:
                    continue
                kept.append(hit)
            found = kept
        return found

    def _article_text(self, doc_id: str) -> tuple[str, str] | None:
        article = self.archive.article(doc_id)
        if article is None:
            return None
        return f"{article.title}\n{article.text}", article.published

    # ------------------------------------------------------------ stories
    def stories(self, query: str | None = None, *, k: int | None = None) -> list[Story]:
        """The stories of the articles that best match `query`, best first; with no query,
        every story of more than one article, newest first."""
        if query is None:
            return self.archive.stories()
        hits = self.retrieve(query, k=k).hits
        return self.archive.stories(doc_ids=[h.doc_id for h in hits])

    def timeline(self, query: str, *, k: int | None = None) -> Timeline | None:
        """The timeline of the story `query` asks about: of the stories of the best matching
        articles, the one they favour most (each article votes 1/rank for its story), with
        the reports of the others that name its core names (`retriever.stories.affair`);
        None when nothing matches or the archive has no stories yet."""
        r = self.retrieve(query, k=k)
        return None if r.refused else self._timeline_of(r)

    def _timeline_of(self, r: Retrieval) -> Timeline | None:
        ranked = [h.doc_id for h in r.hits]
        stories = self.archive.stories(doc_ids=ranked)
        if not stories:
            return None
        votes: dict[str, float] = {}
        for story in stories:
            held = set(story.doc_ids)
            votes[story.story_id] = sum(
                1.0 / (rank + 1) for rank, d in enumerate(ranked) if d in held
            )
        best = max(stories, key=lambda s: votes[s.story_id])  # ties: the better-ranked story
        # the found stories' reports that name the best one's main names join its timeline
        names = self.archive.names_by_article([a.doc_id for s in stories for a in s.articles])
        return self.archive.timeline(affair(best, stories, names))

    # ------------------------------------------------------------ archive facts
    def stats(self) -> IndexStats:
        return self.archive.stats()

    def index_warning(self) -> str | None:
        """One line when the index's parts disagree (answers would miss what is lost)."""
        return self.searcher.index_warning()

    def article(self, doc_id: str) -> Article | None:
        return self.archive.article(doc_id)

    def example_questions(self, n: int = 4) -> list[str]:
        curated = self.archive.curated_questions()
        generated = example_questions(self.archive.recent_titles(50), n)
        return list(dict.fromkeys(curated + generated))[:n]

    def close(self) -> None:
        """Close the archive's connections and the index."""
        self.archive.close()
        self.searcher.close()


def build_answerer(
    settings: Settings,
    *,
    names: Callable[[str], list[tuple[list[str], list[str]]]] | None = None,
) -> Answerer:
    """The answerer `settings` name; `names` gives the name terms a question's descriptions
    point to (`Searcher.named_terms`), for the extractive answerer."""
    extractive = ExtractiveAnswerer(names=names)
    if settings.answerer == "extractive":
        return extractive
    from newsdesk.retriever.generative import LLMAnswerer  # imports llama-index: only when used

    return LLMAnswerer(settings, fallback=extractive)


def build_assistant(settings: Settings, *, embedder: Embedder | None = None) -> Assistant:
    """Open the index named by `settings` and wire everything; `embedder` replaces the one the
    settings name (tests pass one loaded once per session). Raises IndexNotFoundError,
    EmbeddingModelMismatchError, IndexUnavailableError, ModelLoadError."""
    searcher = Searcher.open(settings, embedder)
    try:
        archive = Archive(searcher.index)
        names = searcher.named_terms
        evidence = ExtractiveAnswerer(names=names)
        return Assistant(
            settings, searcher, build_answerer(settings, names=names), archive, evidence
        )
    except BaseException:
        searcher.close()
        raise


__all__ = ["Assistant", "build_answerer", "build_assistant", "clean_question"]
