"""The archive read model: what the index holds, apart from ranking.

`Archive` answers the facts the UI and the CLI show beside answers: counts and names, the
sources, one article, the newest publication date (what "recent" and "this year" mean), the
owner's suggested questions and the most recent titles. It reads the ledger only, each thread
through its own SQLite connection, so that many threads read at once without a lock between
them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from newsdesk.core.text import words
from newsdesk.core.types import Article, DateSpan, IndexStats, Quote
from newsdesk.retriever.profiles import Name, Profile, best_name, build_profile, matching_names
from newsdesk.retriever.quotations import QuoteHit, find_quotes
from newsdesk.retriever.stories import Story, Timeline, build_timeline, collect_stories, every_story
from newsdesk.store.index import Index
from newsdesk.store.origins import Origin, OriginTable
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

    def article_quotes(self, doc_id: str) -> list[Quote]:
        """The direct quotations of the article `doc_id`, in text order (none before mining)."""
        return self._readers.ledger().quotes(doc_id)

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

    def names(
        self, query: str | None = None, *, kind: str | None = None, limit: int | None = None
    ) -> list[Name]:
        """The people, organisations and places (`kind`: person, org, place; None: all)
        whose name holds every word of `query`, named by the most articles first."""
        ledger = self._readers.ledger()
        found = matching_names(ledger.people(kind, words(query or "")), query)
        return found[:limit] if limit is not None else found

    def profile(self, query: str, *, kind: str | None = None) -> Profile | None:
        """The page of the name `query` means (`retriever.profiles.best_name`), or None."""
        with self._readers.snapshot() as ledger:
            name = best_name(matching_names(ledger.people(kind, words(query)), query), query)
            if name is None:
                return None
            quotes = find_quotes(ledger.iter_quotes(), speaker=name.name)
            return build_profile(
                name, ledger.names.roles(name.name), quotes, ledger.names.articles(name.name)
            )

    def most_named(self, limit: int) -> list[tuple[str, int]]:
        """(name, articles naming it) of the `limit` most named names, most first."""
        return self._readers.ledger().names.most_named(limit)

    def names_in(self, doc_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(name, type) of the names the articles `doc_ids` name, most mentioned first."""
        return self._readers.ledger().names.in_articles(list(dict.fromkeys(doc_ids)))

    def names_by_article(self, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        """doc_id -> the people and organisations it names."""
        return self._readers.ledger().names.by_article(list(dict.fromkeys(doc_ids)))

    def named_doc_ids(self, names: tuple[str, ...]) -> frozenset[str]:
        """The doc_ids of the articles naming every one of `names`."""
        return frozenset(self._readers.ledger().names.doc_ids(names))

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

    def origins(self) -> list[Origin]:
        """Where the articles came from: each source (folder, file, URL, upload) with its
        articles, their dates and its last ingest."""
        with self._readers.snapshot() as ledger:
            return OriginTable.of(ledger).listing()

    def recent_titles(self, limit: int) -> list[tuple[str, str]]:
        """(doc_id, title) of the `limit` most recent articles."""
        return self._readers.ledger().titles(limit)


__all__ = ["Archive"]
