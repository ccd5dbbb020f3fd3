"""The second phase of ingest: sentence vectors and named entities, once the archive is searchable.

`enrich(settings)` does two things to every stored article text that lacks them:

- **Sentence vectors.** Each sentence of the text (`core.text.split_sentences`, so hard-wrapped
  wire copy reads as paragraphs) embedded by the index's own model, for the sentence reader
  (`retriever.reader`): at question time the best sentence of each top article is scored
  against the question vector the search already made, with no model call.
- **Named entities.** The spaCy recogniser (`newsdesk.nlp`), stored with character offsets.
- **Descriptors and quotes.** What the text calls its people and organisations ("Chancellor
  Gordon Brown", "Gazprom, the state-owned gas giant", "the Office of Fair Trading (OFT)")
  and who said what in it, mined from the text and its entities (`newsdesk.nlp.descriptors`,
  `newsdesk.nlp.quotes`, no model): the search's name table (`retriever.names`) is built
  from the descriptors; `newsdesk quotes` lists the quotes.
- **Stories.** The texts that report one story, grouped by their lead sentences' vectors,
  their rare names and their dates (`newsdesk.nlp.stories`): regrouped as a whole, in one
  transaction, whenever the set of texts changed since the last grouping.

Both live in the ledger, keyed by the text and the model that made them, so another model's
output is redone and nothing else is. Each batch of articles is one ledger transaction: a kill
at any moment loses at most the batch in hand, and the next run takes up where it stopped.
Running it again changes nothing; an article removed or changed while it is read gets nothing
stale (the ledger drops both with its text). They belong to a text, not to a file: duplicates
share them, and an alias promoted to canonical keeps them.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from newsdesk.core.config import Settings
from newsdesk.core.text import split_key, split_sentences
from newsdesk.core.types import Entity
from newsdesk.embedding import Embedder, load_embedder, model_identity, resolve_model_path
from newsdesk.nlp import Recognizer, load_recognizer
from newsdesk.nlp.descriptors import MINER_VERSION, descriptors
from newsdesk.nlp.people import coreferred, named
from newsdesk.nlp.quotes import quotes
from newsdesk.nlp.stories import (
    LEAD_SENTENCES,
    STORY_VERSION,
    StoryInput,
    group_stories,
    lead_vector,
)
from newsdesk.store.ledger import Ledger, SentenceVectors
from newsdesk.store.schema import day_number

log = logging.getLogger(__name__)
Row = TypeVar("Row")

BATCH_ARTICLES = 64
# Sentences of one text that get a vector: the reader looks for the sentence that answers,
# and news puts it early; a 5,000-sentence transcript would cost as much as 300 articles.
MAX_SENTENCES = 200
MIN_SENTENCE_CHARS = 20  # shorter spans ("(AP)", "Reuters") hold nothing to match


@dataclass
class SentenceReport:
    articles: int = 0  # texts embedded by this run
    sentences: int = 0
    already: int = 0
    model: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "sentences": self.sentences,
            "already": self.already,
            "model": self.model,
            "seconds": round(self.seconds, 3),
            "seconds_per_1000_articles": round(_per_1000(self.seconds, self.articles), 1),
        }


@dataclass
class MiningReport:
    articles: int = 0  # texts mined by this run
    descriptors: int = 0
    quotes: int = 0
    already: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "descriptors": self.descriptors,
            "quotes": self.quotes,
            "already": self.already,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class StoriesReport:
    texts: int = 0  # texts grouped by this run (0: the grouping was up to date)
    stories: int = 0  # stories of more than one text
    largest: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "texts": self.texts,
            "stories": self.stories,
            "largest": self.largest,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class EnrichReport:
    articles: int = 0  # texts annotated with entities by this run
    entities: int = 0
    already: int = 0  # texts that had entities from this model before the run
    model: str = ""
    seconds: float = 0.0  # the entity part
    sentences: SentenceReport = field(default_factory=SentenceReport)
    mined: MiningReport = field(default_factory=MiningReport)
    stories: StoriesReport = field(default_factory=StoriesReport)

    @property
    def seconds_per_1000(self) -> float:
        return _per_1000(self.seconds, self.articles)

    def to_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "entities": self.entities,
            "already": self.already,
            "model": self.model,
            "seconds": round(self.seconds, 3),
            "seconds_per_1000_articles": round(self.seconds_per_1000, 1),
            "sentences": self.sentences.to_json(),
            "mined": self.mined.to_json(),
            "stories": self.stories.to_json(),
        }

    def summary(self) -> str:
        s = self.sentences
        lines = [
            f"sentences: {s.articles} articles embedded ({s.sentences} sentences), "
            f"{s.already} already done; {s.seconds:.1f}s"
        ]
        if self.model:
            lines.append(
                f"entities: {self.articles} articles annotated ({self.entities} entities), "
                f"{self.already} already done; {self.seconds:.1f}s"
            )
            d = self.mined
            lines.append(
                f"mined: {d.articles} articles ({d.descriptors} "
                f"descriptors, {d.quotes} quotes), "
                f"{d.already} already done; {d.seconds:.1f}s"
            )
            g = self.stories
            lines.append(
                f"stories: {g.texts} articles grouped into {g.stories} stories of more than "
                f"one (the largest {g.largest}); {g.seconds:.1f}s"
                if g.texts
                else "stories: up to date"
            )
        return "\n".join(lines)


def _per_1000(seconds: float, articles: int) -> float:
    return 1000.0 * seconds / articles if articles else 0.0


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The spans of `text` that get a vector: its sentences, fragments left out, at most
    MAX_SENTENCES."""
    spans = [(s, e) for s, e in split_sentences(text) if e - s >= MIN_SENTENCE_CHARS]
    return spans[:MAX_SENTENCES]


def enrich(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    recognizer: Recognizer | None = None,
    progress: bool = False,
    batch: int = BATCH_ARTICLES,
) -> EnrichReport:
    """Embed the sentences of, and find the named entities in, every article lacking them
    (entities only when `settings.enrich` is "all")."""
    report = EnrichReport()
    ledger = Ledger.open(Path(settings.index), create=False)
    try:
        model = embedder.identity if embedder else _identity(settings)
        load = functools.cache(lambda: embedder or load_embedder(settings))
        report.sentences = embed_sentences(ledger, model, load, progress=progress, batch=batch)
        last = ledger.get_meta(f"ner_model:{settings.ner_model}")  # its id, the last run
        if (
            settings.enrich == "all"
            and recognizer is None
            and last
            and not ledger.enrichment(last)[0]
        ):
            report.model, report.already = last, ledger.enrichment(last)[1]  # no spaCy load
        elif settings.enrich == "all":
            started = time.perf_counter()
            nlp = recognizer or load_recognizer(settings.ner_model)
            report.model = nlp.model_id
            done = _phase(
                ledger,
                nlp.model_id,
                pending=ledger.unenriched,
                progress_of=ledger.enrichment,
                work=lambda rows: _entities(ledger, nlp, rows),
                show=progress,
                batch=batch,
            )
            report.articles, report.entities, report.already = done
            with ledger.transaction():
                ledger.set_meta(f"ner_model:{settings.ner_model}", nlp.model_id)
            report.seconds = time.perf_counter() - started
        if settings.enrich == "all":
            report.mined = mine(ledger, progress=progress, batch=batch)
            report.stories = group(ledger, model)
    finally:
        ledger.close()
    log.info("%s", report.summary())
    return report


def _identity(settings: Settings) -> str:
    return model_identity(settings.embedding_model, resolve_model_path(settings.embedding_model))


def embed_sentences(
    ledger: Ledger,
    model: str,
    load: Callable[[], Embedder],
    *,
    progress: bool = False,
    batch: int = BATCH_ARTICLES,
) -> SentenceReport:
    """Store the sentence vectors of every text of `ledger` that has none from the embedding
    model `model`; `load` gives that model, called only when there is something to embed."""
    started = time.perf_counter()
    report = SentenceReport(model=model)
    done = _phase(
        ledger,
        model,
        pending=ledger.without_sentences,
        progress_of=ledger.sentence_progress,
        work=lambda rows: _sentences(ledger, load(), rows),
        show=progress,
        batch=batch,
    )
    report.articles, report.sentences, report.already = done
    with ledger.transaction():  # searchers use the reader once the whole archive is read
        ledger.mark_read_if_complete(model)
    report.seconds = time.perf_counter() - started
    return report


def mine(ledger: Ledger, *, progress: bool = False, batch: int = BATCH_ARTICLES) -> MiningReport:
    """Mine the descriptors, quotes and names of every text of `ledger` whose entities were
    not mined by this miner version (nothing to do for texts without entities)."""
    started = time.perf_counter()
    report = MiningReport()
    done = _phase(
        ledger,
        MINER_VERSION,
        pending=ledger.undescribed,
        progress_of=ledger.description_progress,
        work=lambda rows: _mine(ledger, rows, report),
        show=progress,
        batch=batch,
    )
    report.articles, report.descriptors, report.already = done
    with ledger.transaction():
        ledger.stamp_names()
    report.seconds = time.perf_counter() - started
    return report


def group(ledger: Ledger, model: str) -> StoriesReport:
    """Regroup the stories of `ledger` from the sentence vectors of `model` and the mined
    names, if its texts changed since the last grouping (one transaction: a kill leaves the
    old grouping)."""
    started = time.perf_counter()
    report = StoriesReport()
    table = ledger.stories
    fingerprint = table.fingerprint(f"{STORY_VERSION}:{MINER_VERSION}:{split_key(model)}")
    if table.current() == fingerprint:
        return report
    texts: list[StoryInput] = []
    for key, published, vectors, names in table.inputs(model, LEAD_SENTENCES):
        lead = lead_vector(vectors)
        if lead is not None:
            texts.append(StoryInput(key, lead, _day(published), frozenset(names)))
    members = group_stories(texts)
    with ledger.transaction():
        table.replace(fingerprint, ((m.key, m.story_id, m.centrality) for m in members))
    sizes: dict[str, int] = {}
    for m in members:
        sizes[m.story_id] = sizes.get(m.story_id, 0) + 1
    report.texts = len(members)
    report.stories = sum(1 for n in sizes.values() if n > 1)
    report.largest = max(sizes.values(), default=0)
    report.seconds = time.perf_counter() - started
    return report


def _day(published: str) -> int | None:
    try:
        return day_number(published)
    except ValueError:  # a stamp that is not ISO 8601: undated, as the search reads it
        return None


def _phase(
    ledger: Ledger,
    model: str,
    *,
    pending: Callable[[str, int], list[Row]],
    progress_of: Callable[[str], tuple[int, int]],
    work: Callable[[list[Row]], int],
    show: bool,
    batch: int,
) -> tuple[int, int, int]:
    """Run `work` over the pending texts, one transaction per batch: (texts, items, already)."""
    from tqdm import tqdm

    todo, already = progress_of(model)
    texts = items = 0
    with tqdm(total=todo, unit="article", disable=not show, leave=False) as bar:
        while rows := pending(model, batch):
            items += work(rows)
            texts += len(rows)
            bar.update(len(rows))
    return texts, items, already


def _sentences(ledger: Ledger, embedder: Embedder, rows: list[tuple[str, str]]) -> int:
    spans = [sentence_spans(text) for _, text in rows]
    flat = [text[s:e] for (_, text), found in zip(rows, spans, strict=True) for s, e in found]
    vectors = embedder.embed_documents(flat) if flat else np.zeros((0, 0), dtype=np.float32)
    at = 0
    with ledger.transaction():
        for (content, _), found in zip(rows, spans, strict=True):
            mine = vectors[at : at + len(found)]
            at += len(found)
            ledger.put_sentences(content, embedder.identity, SentenceVectors(np.array(found), mine))
    return len(flat)


def _mine(ledger: Ledger, rows: list[tuple[str, str, list[Entity]]], report: MiningReport) -> int:
    rows = [(content, text, coreferred(text, entities)) for content, text, entities in rows]
    found = [descriptors(text, entities) for _, text, entities in rows]
    said = [quotes(text, e, d) for (_, text, e), d in zip(rows, found, strict=True)]
    with ledger.transaction():
        for (content, _, entities), mined, quoted in zip(rows, found, said, strict=True):
            ledger.put_mined(content, MINER_VERSION, mined, quoted, named(entities))
    report.quotes += sum(len(q) for q in said)
    return sum(len(d) for d in found)


def _entities(ledger: Ledger, nlp: Recognizer, rows: list[tuple[str, str]]) -> int:
    found = list(nlp.entities([text for _, text in rows]))
    with ledger.transaction():
        for (content, _), entities in zip(rows, found, strict=True):
            ledger.put_entities(content, nlp.model_id, entities)
    return sum(len(e) for e in found)


__all__ = [
    "MiningReport",
    "EnrichReport",
    "SentenceReport",
    "StoriesReport",
    "embed_sentences",
    "enrich",
    "group",
    "mine",
    "sentence_spans",
]
