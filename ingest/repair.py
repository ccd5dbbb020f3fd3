"""`newsdesk repair`: rebuild what the index derives from its ledger, without the sources.

The ledger holds every article text and chunk, so everything else can be made again from it:
vectors (each chunk re-embedded with its title, as ingest embeds it), the BM25 index, the
sentence vectors and entities of the second phase. `repair` finishes unfinished writes, starts
an unreadable vector store afresh, deletes vectors of no chunk, re-embeds chunks with no
vector, rebuilds a stale BM25 index and runs the second phase. Every step writes only derived
data and checks what is missing before it works, so a repair killed at any moment is resumed
by the next one, and a repair of a sound index changes nothing.

`restore_vectors` is the vector step alone; ingest runs it when the vector store holds fewer
vectors than the ledger has chunks (an "unchanged" archive whose vectors were lost).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from newsdesk.core.config import Settings
from newsdesk.core.errors import IndexCorruptError
from newsdesk.core.types import Article, Chunk
from newsdesk.embedding import Embedder, load_embedder
from newsdesk.ingest.enrich import EnrichReport, enrich
from newsdesk.store import health, lexical, schema
from newsdesk.store.index import Index

log = logging.getLogger(__name__)

BATCH_CHUNKS = 256  # chunks re-embedded and written per step


@dataclass
class RepairReport:
    before: dict[str, Any] = field(default_factory=dict)  # `newsdesk check` before repairing
    writes_finished: int = 0
    vector_store_reset: bool = False
    vectors_restored: int = 0
    vectors_deleted: int = 0
    bm25_rebuilt: bool = False
    enrich: EnrichReport | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "writes_finished": self.writes_finished,
            "vector_store_reset": self.vector_store_reset,
            "vectors_restored": self.vectors_restored,
            "vectors_deleted": self.vectors_deleted,
            "bm25_rebuilt": self.bm25_rebuilt,
            "enrich": self.enrich.to_json() if self.enrich else None,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        lines = [
            f"repaired: {self.vectors_restored} vectors restored, {self.vectors_deleted} "
            f"deleted{' (the store was started afresh)' if self.vector_store_reset else ''}, "
            f"BM25 {'rebuilt' if self.bm25_rebuilt else 'sound'}, "
            f"{self.writes_finished} unfinished writes finished; {self.seconds:.1f}s"
        ]
        if self.enrich is not None:
            lines.append(self.enrich.summary())
        return "\n".join(lines)


def repair(
    settings: Settings, *, embedder: Embedder | None = None, progress: bool = False
) -> RepairReport:
    """Make every derived part of the index whole again from the ledger."""
    started = time.perf_counter()
    report = RepairReport()
    index = Index.open(settings, create=False)
    try:
        model = embedder or load_embedder(settings)
        index.check_identity(model.identity, model.dimension, settings)
        report.writes_finished = index.recover()
        found = health.check(index, model.identity)
        report.before = found.to_json()
        ledger_part = next(p for p in found.parts if p.name == "ledger")
        if ledger_part.state == "broken":
            raise IndexCorruptError(
                f"the ledger of {index.dir} is damaged ({ledger_part.detail}); nothing can be "
                "rebuilt from it: ingest the sources into a new --index"
            )
        missing = found.missing_vectors
        if found.vectors_unreadable:
            index.vectors.reset()
            report.vector_store_reset = True
            missing = sorted(index.ledger.all_chunk_ids())
        elif found.extra_vectors:
            index.vectors.delete(found.extra_vectors)
            report.vectors_deleted = len(found.extra_vectors)
        report.vectors_restored = restore_vectors(index, model, missing, progress=progress)
        if lexical.stamp(index.dir) != index.ledger.generation:
            lexical.save(lexical.build(index.ledger), index.dir)
            report.bm25_rebuilt = True
    finally:
        index.close()
    if settings.enrich != "none":
        report.enrich = enrich(settings, embedder=model, progress=progress)
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    return report


def restore_vectors(
    index: Index, embedder: Embedder, chunk_ids: Sequence[str], *, progress: bool = False
) -> int:
    """Embed the ledger chunks `chunk_ids` again and write their vectors; returns how many."""
    from tqdm import tqdm

    done = 0
    articles: dict[str, Article | None] = {}
    with tqdm(total=len(chunk_ids), unit="chunk", disable=not progress, leave=False) as bar:
        for i in range(0, len(chunk_ids), BATCH_CHUNKS):
            stored = index.ledger.get_chunks(list(chunk_ids[i : i + BATCH_CHUNKS]))
            ids, texts, metas = [], [], []
            for cid, c in stored.items():
                if c.doc_id not in articles:
                    articles[c.doc_id] = index.ledger.article(c.doc_id)
                article = articles[c.doc_id]
                if article is None:
                    continue  # removed since: nothing to restore
                chunk = Chunk(cid, c.doc_id, c.position, c.start, c.end, c.text, 0)
                ids.append(cid)
                texts.append(schema.embedding_text(c.title, c.text))
                metas.append(schema.chunk_metadata(article, chunk))
            if ids:
                index.vectors.upsert(ids, embedder.embed_documents(texts), metas)
            done += len(ids)
            bar.update(len(stored))
    if done:
        log.info("restored the vectors of %d chunks from the ledger", done)
    return done


def vectors_missing(index: Index) -> list[str]:
    """Ledger chunks the vector store has no vector for (cheap when the counts agree)."""
    if index.vectors.count() >= index.ledger.stats().chunks:
        return []
    return sorted(index.ledger.all_chunk_ids() - index.vectors.all_ids())


__all__ = ["RepairReport", "repair", "restore_vectors", "vectors_missing"]
