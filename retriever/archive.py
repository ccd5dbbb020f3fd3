"""The archive read model: what the index holds, apart from ranking.

`Archive` answers the facts the UI and the CLI show beside answers: counts and names, one
article, the newest publication date (what "recent" and "this year" mean), the owner's
suggested questions and the most recent titles. It reads the ledger only, each thread through
its own SQLite connection, so that many threads read at once without a lock between them.
"""

from __future__ import annotations

import json
from datetime import date

from newsdesk.core.types import Article, DateSpan, IndexStats
from newsdesk.retriever.quotations import QuoteHit, find_quotes
from newsdesk.retriever.stories import Story, Timeline, build_timeline, collect_stories, every_story
from newsdesk.store.index import Index
from newsdesk.store.readers import LedgerReaders


class Archive:
    """Facts about one index. Thread-safe: every thread reads through its own connection."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._readers = LedgerReaders(index.ledger.path)
        self._span: tuple[int, DateSpan] | None = None  # (generation, its dates)

    def close(self) -> None:
        """Close this archive's connections (the index stays open: its opener closes it)."""
        self._readers.close()

    def stats(self) -> IndexStats:
        with self._readers.snapshot() as ledger:  # its counts from one committed state
            return ledger.stats()

    def article(self, doc_id: str) -> Article | None:
        return self._readers.ledger().article(doc_id)

    def latest_date(self) -> date | None:
        """The newest publication date: what "recent" and "this year" count back from."""
        return self.date_span().latest

    def date_span(self) -> DateSpan:
        """The archive's publication dates, looked up once per index generation."""
        with self._readers.snapshot() as ledger:
            generation = ledger.generation
            cached = self._span
            if cached is not None and cached[0] == generation:
                return cached[1]
            span = ledger.date_span()
        self._span = (generation, span)  # one assignment: readers see the old or the new pair
        return span

    def curated_questions(self) -> list[str]:
        """Questions the archive's owner suggested (see ingest's `.newsdesk-questions`)."""
        raw = self._readers.ledger().get_meta("example_questions")
        return [str(q) for q in json.loads(raw)] if raw else []

    def quotes(
        self,
        *,
        speaker: str | None = None,
        query: str | None = None,
        phrase: str | None = None,
        limit: int | None = None,
    ) -> list[QuoteHit]:
        """The archive's quotes by `speaker` about `query` holding `phrase`
        (`retriever.quotations`)."""
        with self._readers.snapshot() as ledger:
            return find_quotes(
                ledger.iter_quotes(), speaker=speaker, query=query, phrase=phrase, limit=limit
            )

    def stories(self, *, doc_ids: list[str] | None = None) -> list[Story]:
        """The stories holding `doc_ids`, in the order of their first article there; with
        none given, every story of more than one article, newest first."""
        with self._readers.snapshot() as ledger:
            rows = ledger.stories.articles(doc_ids)
            if doc_ids is None:
                return every_story(rows)
            found = collect_stories(rows)
        by_id = {s.story_id: s for s in found}
        holder = {d: s.story_id for s in found for d in s.doc_ids}  # aliases included
        order = dict.fromkeys(holder[d] for d in doc_ids if d in holder)
        return [by_id[sid] for sid in order]

    def timeline(self, story: Story) -> Timeline:
        """The dated developments of `story` (`retriever.stories.build_timeline`)."""
        ledger = self._readers.ledger()

        def text_of(doc_id: str) -> str | None:
            article = ledger.article(doc_id)
            return article.text if article else None

        return build_timeline(story, text_of)

    def recent_titles(self, limit: int) -> list[tuple[str, str]]:
        """(doc_id, title) of the `limit` most recent articles."""
        return self._readers.ledger().titles(limit)


__all__ = ["Archive"]
