"""Stories and timelines, from the grouping made at ingest (`newsdesk.nlp.stories`).

`collect_stories(rows)` turns the ledger's story rows into `Story`s: an id, a representative
headline (the most central report's), the date span and the articles (duplicate files
included). `build_timeline(story, text_of)` lists a story's reports in date order, one line
per development: the lead sentence of each report, verbatim, skipping a lead that repeats
an earlier one word for word in substance (a wire flash and its updates often restate it);
undated reports are listed apart, never placed by guess.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from newsdesk.core.text import content_terms, readable_title, split_sentences
from newsdesk.core.types import Article, Citation, Composed, Filters
from newsdesk.retriever.citations import span_passage
from newsdesk.store.stories import StoryArticle

REPEAT_SHARE = 0.8  # a lead whose content terms are this much an earlier lead's is a repeat
MIN_LEAD_CHARS = 20
_SENTENCE_ENDS = frozenset(".!?\"'\u201d\u2019)")


@dataclass(frozen=True)
class Story:
    """One story: its reports, by date (undated last)."""

    story_id: str
    headline: str
    articles: tuple[StoryArticle, ...]

    @property
    def first(self) -> str | None:
        dated = [a.published[:10] for a in self.articles if a.published]
        return min(dated) if dated else None

    @property
    def last(self) -> str | None:
        dated = [a.published[:10] for a in self.articles if a.published]
        return max(dated) if dated else None

    @property
    def doc_ids(self) -> list[str]:
        return [d for a in self.articles for d in (a.doc_id, *a.aliases)]

    def to_json(self) -> dict[str, object]:
        """The `newsdesk stories --json` object (its keys are a contract)."""
        return {
            "story_id": self.story_id,
            "headline": self.headline,
            "first": self.first,
            "last": self.last,
            "doc_ids": self.doc_ids,
        }


@dataclass(frozen=True)
class TimelineEntry:
    """One development: `text == article_text[start:end]` of the report `doc_id`."""

    published: str
    doc_id: str
    text: str
    n: int
    start: int
    end: int
    title: str

    def to_json(self) -> dict[str, object]:
        return {
            "published": self.published or None,
            "doc_id": self.doc_id,
            "text": self.text,
            "n": self.n,
            "start": self.start,
            "end": self.end,
            "title": self.title,
        }


@dataclass(frozen=True)
class Timeline:
    story_id: str
    headline: str
    entries: tuple[TimelineEntry, ...]
    undated: tuple[TimelineEntry, ...]

    def to_json(self) -> dict[str, object]:
        """The `newsdesk timeline --json` object (its keys are a contract)."""
        return {
            "story_id": self.story_id,
            "headline": self.headline,
            "entries": [e.to_json() for e in self.entries],
            "undated": [e.to_json() for e in self.undated],
        }


def collect_stories(rows: Iterable[StoryArticle]) -> list[Story]:
    """The stories of `rows` (as `StoryTable.articles` yields them), in the rows' order."""
    grouped: dict[str, list[StoryArticle]] = {}
    for row in rows:
        grouped.setdefault(row.story_id, []).append(row)
    out: list[Story] = []
    for sid, articles in grouped.items():
        best = max(articles, key=lambda a: (a.centrality, -articles.index(a)))
        out.append(Story(sid, readable_title(best.title, best.lead), tuple(articles)))
    return out


def every_story(rows: Iterable[StoryArticle]) -> list[Story]:
    """The stories of more than one article among `rows`, newest first (then largest)."""
    found = [s for s in collect_stories(rows) if len(s.articles) > 1]
    found.sort(key=lambda s: (s.last or "", len(s.articles), s.story_id), reverse=True)
    return found


CORE_NAMES = 2  # an affair is told by the reports naming its story's main names


def core_names(story: Story, names_of: Mapping[str, set[str]], limit: int = CORE_NAMES) -> set[str]:
    """The names at least half of `story`'s reports name, and two of them at least: "Texaco"
    and "Pennzoil" for their legal battle. At most `limit`, the most named first; when more
    tie for the last place, none of them (a guess between equals would pick by spelling).
    None for a story of one report: one report does not tell what its story is about."""
    counts = Counter(n for a in story.articles for n in names_of.get(a.doc_id, ()))
    floor = max(2.0, len(story.articles) / 2)
    ranked = sorted((n for n, c in counts.items() if c >= floor), key=lambda n: -counts[n])
    if len(ranked) > limit and counts[ranked[limit]] == counts[ranked[limit - 1]]:
        cut = counts[ranked[limit - 1]]
        ranked = [n for n in ranked if counts[n] > cut]
    return set(ranked[:limit])


def affair(story: Story, others: Sequence[Story], names_of: Mapping[str, set[str]]) -> Story:
    """`story` with the reports of `others` that name all its core names: one affair told
    over several stories (a takeover fight runs for weeks, its stories days apart). `others`
    are the stories of the articles a question found; the result keeps `story`'s id and
    headline, its reports in date order (undated last)."""
    core = core_names(story, names_of)
    if not core:
        return story
    held = {a.doc_id for a in story.articles}
    joined = list(story.articles)
    for other in others:
        if other.story_id == story.story_id:
            continue
        for article in other.articles:
            if article.doc_id not in held and core <= names_of.get(article.doc_id, set()):
                joined.append(article)
                held.add(article.doc_id)
    if len(joined) == len(story.articles):
        return story
    joined.sort(key=lambda a: (not a.published, a.published, a.doc_id))
    return replace(story, articles=tuple(joined))


def lead_sentence(text: str) -> tuple[int, int] | None:
    """The span of the first sentence of `text` worth a line: a whole sentence (ending as
    one) rather than a dateline or a heading fragment, if the text has one."""
    spans = [(s, e) for s, e in _rejoined(text, split_sentences(text)) if e - s >= MIN_LEAD_CHARS]
    whole = [(s, e) for s, e in spans if text[s:e].rstrip()[-1:] in _SENTENCE_ENDS]
    found = whole or spans
    return found[0] if found else None


def _rejoined(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` with a sentence cut at one line break put back together, where the splitter
    cannot tell the text is wrapped: a wire flash of two lines ("Harbour Pumps Ltd said it
    has opened its / 101st depot, ...") is too short to show a wrap width, so its short
    line reads as a heading (5 of Reuters' 18,767 leads). A piece ending in a small word
    or a comma, or followed by one opening in lower case, a digit or a bracket, goes on;
    never across a sentence end or into an indented line (a wire paragraph)."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out:
            ps, pe = out[-1]
            head = text[s : s + 1]
            tail = text[pe - 1 : pe]
            goes_on = tail.islower() or tail == "," or head.islower() or head in "0123456789("
            if text[pe:s] == "\n" and tail not in _SENTENCE_ENDS and goes_on:
                out[-1] = (ps, e)
                continue
        out.append((s, e))
    return out


def build_timeline(story: Story, text_of: Callable[[str], str | None]) -> Timeline:
    """A story's developments in date order (`text_of(doc_id)` gives a report's text)."""
    dated: list[TimelineEntry] = []
    undated: list[TimelineEntry] = []
    seen: list[set[str]] = []
    for article in story.articles:
        text = text_of(article.doc_id)
        span = lead_sentence(text) if text else None
        if text is None or span is None:
            continue
        terms = set(content_terms(text[span[0] : span[1]]))
        if any(terms and len(terms & s) >= REPEAT_SHARE * len(terms) for s in seen):
            continue  # the same development again (an update restating the flash)
        seen.append(terms)
        target = dated if article.published else undated
        n = len(dated) + len(undated) + 1
        target.append(
            TimelineEntry(
                article.published[:10],
                article.doc_id,
                text[span[0] : span[1]],
                n,
                span[0],
                span[1],
                readable_title(article.title, article.lead),
            )
        )
    return Timeline(story.story_id, story.headline, tuple(dated), tuple(undated))


def within(timeline: Timeline, filters: Filters) -> Timeline:
    """`timeline` without the dated entries outside the date range of `filters` (undated
    ones stay listed apart: they cannot be placed in or out of the range)."""
    kept = tuple(e for e in timeline.entries if filters.admits_date(e.published))
    return replace(timeline, entries=kept)


def spread(entries: Sequence[TimelineEntry], limit: int) -> list[TimelineEntry]:
    """At most `limit` of `entries`, evenly spaced over them, the first and last kept: how
    a story unfolded reads from its start, its end and steps between."""
    if len(entries) <= limit:
        return list(entries)
    if limit <= 1:
        return list(entries[:limit])
    step = (len(entries) - 1) / (limit - 1)
    return [entries[round(i * step)] for i in range(limit)]


def compose_timeline(
    timeline: Timeline, article_of: Callable[[str], Article | None], limit: int
) -> Composed:
    """One cited line per development, oldest first, then the undated ones: the date (or
    "Undated") and the report's lead sentence verbatim; at most `limit` lines in all."""
    dated = spread(timeline.entries, limit)
    undated = list(timeline.undated[: max(0, limit - len(dated))])
    lines: list[str] = []
    citations: list[Citation] = []
    for entry in (*dated, *undated):
        article = article_of(entry.doc_id)
        if article is None:  # pruned since the timeline was read
            continue
        n = len(citations) + 1
        passage = span_passage(article, entry.start, entry.end)
        citations.append(Citation(n=n, passage=passage, quote=entry.text))
        when = entry.published or "Undated"
        lines.append(f"{when}: {' '.join(entry.text.split())} [{n}]")
    return Composed(text="\n\n".join(lines), citations=tuple(citations))


__all__ = [
    "Story",
    "Timeline",
    "TimelineEntry",
    "affair",
    "build_timeline",
    "collect_stories",
    "compose_timeline",
    "core_names",
    "every_story",
    "lead_sentence",
    "spread",
    "within",
]
