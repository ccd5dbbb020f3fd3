"""The second phase of ingest: named entities, found once the archive is searchable.

`enrich(settings)` runs the spaCy recogniser (`newsdesk.nlp`) over every stored article text
that has no entities yet, or whose entities another model found, and stores them in the
ledger with character offsets into the article text. Each batch of articles is one ledger
transaction, so a kill at any moment loses at most the batch in hand, and the next run takes
up where it stopped. Running it again changes nothing; an article removed or changed while it
is read gets no stale entities (the ledger drops them with its text). Entities belong to a
text, not to a file: duplicates share them, and an alias promoted to canonical keeps them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsdesk.core.config import Settings
from newsdesk.nlp import Recognizer, load_recognizer
from newsdesk.store.ledger import Ledger

log = logging.getLogger(__name__)

BATCH_ARTICLES = 64


@dataclass
class EnrichReport:
    articles: int = 0  # texts annotated by this run
    entities: int = 0
    already: int = 0  # texts that had entities from this model before the run
    model: str = ""
    seconds: float = 0.0

    @property
    def seconds_per_1000(self) -> float:
        return 1000.0 * self.seconds / self.articles if self.articles else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "entities": self.entities,
            "already": self.already,
            "model": self.model,
            "seconds": round(self.seconds, 3),
            "seconds_per_1000_articles": round(self.seconds_per_1000, 1),
        }

    def summary(self) -> str:
        return (
            f"entities: {self.articles} articles annotated ({self.entities} entities), "
            f"{self.already} already done; {self.seconds:.1f}s"
        )


def enrich(
    settings: Settings,
    *,
    recognizer: Recognizer | None = None,
    progress: bool = False,
    batch: int = BATCH_ARTICLES,
) -> EnrichReport:
    """Find and store the named entities of every article that lacks them."""
    from tqdm import tqdm

    started = time.perf_counter()
    ledger = Ledger.open(Path(settings.index), create=False)
    try:
        nlp = recognizer or load_recognizer(settings.ner_model)
        report = EnrichReport(model=nlp.model_id)
        todo, report.already = ledger.enrichment(nlp.model_id)
        with tqdm(total=todo, unit="article", disable=not progress, leave=False) as bar:
            while True:
                rows = ledger.unenriched(nlp.model_id, batch)
                if not rows:
                    break
                found = list(nlp.entities([text for _, text in rows]))
                with ledger.transaction():
                    for (content, _), entities in zip(rows, found, strict=True):
                        ledger.put_entities(content, nlp.model_id, entities)
                report.articles += len(rows)
                report.entities += sum(len(e) for e in found)
                bar.update(len(rows))
    finally:
        ledger.close()
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    return report


__all__ = ["EnrichReport", "enrich"]
