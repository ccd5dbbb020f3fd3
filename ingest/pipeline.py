"""Ingest: article files in, chunks in the ledger, Chroma and BM25 out.

Idempotent (ids derive from content; unchanged articles are skipped by hash before anything is
embedded), deduplicating (identical texts are stored once, extra doc_ids become aliases) and
crash-safe (see `Index.recover`: vector writes are logged as intents before they happen, and an
article counts as stored only once the ledger transaction that records it has committed).

Reading and chunking run in a background thread; each batch is embedded in another while the
main thread stores the batch before it (only the main thread touches the index).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from newsdesk.core.config import Settings
from newsdesk.core.errors import IngestError, NewsdeskError
from newsdesk.core.types import Article, Chunk
from newsdesk.embedding import Embedder, load_embedder, model_identity, resolve_model_path
from newsdesk.ingest.chunking import chunk_text
from newsdesk.ingest.loaders import Source, discover, load
from newsdesk.store import lexical, schema
from newsdesk.store.index import OP_ADD, OP_DELETE, Index

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    files_seen: int = 0
    articles_added: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    articles_removed: int = 0
    duplicates: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    errors: list[IngestError] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def articles_ok(self) -> int:
        return (
            self.articles_added + self.articles_updated + self.articles_unchanged + self.duplicates
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "files_seen": self.files_seen,
            "articles_added": self.articles_added,
            "articles_updated": self.articles_updated,
            "articles_unchanged": self.articles_unchanged,
            "articles_removed": self.articles_removed,
            "duplicates": self.duplicates,
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "errors": [{"path": e.path, "reason": e.reason} for e in self.errors],
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        return (
            f"{self.files_seen} files: {self.articles_added} added, {self.articles_updated} "
            f"updated, {self.articles_unchanged} unchanged, {self.duplicates} duplicates, "
            f"{self.articles_removed} removed; {self.chunks_added} chunks added, "
            f"{self.chunks_removed} removed; {len(self.errors)} errors; {self.seconds:.1f}s"
        )


@dataclass
class _Loaded:
    """One source read and (where new) chunked by the background reader."""

    source: Source
    articles: list[tuple[Article, str, list[Chunk] | None]]  # (article, content hash, chunks)
    errors: list[IngestError]
    failed: bool  # the whole source failed to load


@dataclass
class _New:
    article: Article
    content: str
    chunks: list[Chunk]
    source: Source
    old: str | None


@dataclass
class _Pending:
    """A batch whose vectors are being computed, stored once they are."""

    batch: list[_New]
    deferred: list[tuple[Article, str, Source]]
    ids: list[str]
    metas: list[dict[str, Any]]
    vectors: Future[np.ndarray]


def chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        schema.META_DOC_ID: article.doc_id,
        schema.META_POSITION: chunk.position,
        schema.META_START: chunk.start,
        schema.META_END: chunk.end,
        schema.META_TITLE: article.title,
        schema.META_SOURCE: article.source,
        schema.META_CATEGORY: article.category,
    }
    day = schema.day_number(article.published)
    if day is not None:
        meta[schema.META_PUBLISHED] = article.published
        meta[schema.META_DAY] = day
    return meta


class _Ingest:
    def __init__(self, settings: Settings, index: Index, embedder: Callable[[], Embedder]):
        self.settings = settings
        self.index = index
        self.ledger = index.ledger
        self._embedder_factory = embedder
        self._embedder: Embedder | None = None
        self.report = IngestReport()
        self.batch: list[_New] = []
        self.batch_hashes: set[str] = set()
        self.in_flight_hashes: set[str] = set()  # texts of the batch being embedded
        self._in_flight: _Pending | None = None
        self._pool: ThreadPoolExecutor | None = None
        self.deferred: list[tuple[Article, str, Source]] = []  # aliases of texts in the batch

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
            self.index.check_identity(
                self._embedder.identity, self._embedder.dimension, self.settings
            )
            self.index.record_identity(
                self._embedder.identity, self._embedder.dimension, self.settings
            )
        return self._embedder

    # ------------------------------------------------------------ classify
    def take(self, article: Article, content: str, chunks: list[Chunk] | None, src: Source) -> None:
        old = self.ledger.article_hash(article.doc_id)
        if old == content:
            self.report.articles_unchanged += 1
            return
        if content in self.batch_hashes or content in self.in_flight_hashes:
            # its text is being embedded: store this doc_id as an alias once that is stored
            self.deferred.append((article, content, src))
            self.report.duplicates += 1
            return
        if self.ledger.has_text(content):
            with self.ledger.transaction():
                self.ledger.put_article(article, content, src.origin, src.rel)
                doomed = self._release(old)
                self._log_deletes(doomed)
            self._finish_deletes(doomed)
            self.report.duplicates += 1
            return
        if chunks is None:
            chunks = self._chunk(article, content)
        if not chunks:
            self.report.errors.append(IngestError(article.doc_id, "no text to index"))
            return
        self.batch.append(_New(article, content, chunks, src, old))
        self.batch_hashes.add(content)
        if old is None:
            self.report.articles_added += 1
        else:
            self.report.articles_updated += 1
        if sum(len(n.chunks) for n in self.batch) >= self.settings.ingest_batch_chunks:
            self.flush()

    def _chunk(self, article: Article, content: str) -> list[Chunk]:
        return chunk_text(
            content,
            article.text,
            max_tokens=self.settings.chunk_tokens,
            overlap=self.settings.chunk_overlap,
        )

    def _release(self, old: str | None) -> list[str]:
        if old is None:
            return []
        doomed, new_canonical = self.ledger.release(old)
        if new_canonical is not None:
            article = self.ledger.article(new_canonical)
            ids = self.ledger.chunk_ids(old)
            if article is not None and ids:
                chunks = self.ledger.get_chunks(ids)
                metas = []
                for cid in ids:
                    c = chunks[cid]
                    metas.append(
                        chunk_metadata(
                            article,
                            Chunk(cid, new_canonical, c.position, c.start, c.end, c.text, 0),
                        )
                    )
                self.index.vectors.update_metadata(ids, metas)
        return doomed

    def _log_deletes(self, doomed: list[str]) -> None:
        if doomed:
            self.ledger.add_pending(doomed, OP_DELETE)
            self.ledger.bump_generation()
        self.report.chunks_removed += len(doomed)

    def _finish_deletes(self, doomed: list[str]) -> None:
        if doomed:
            self.index.vectors.delete(doomed)
            with self.ledger.transaction():
                self.ledger.clear_pending(OP_DELETE, doomed)

    # ------------------------------------------------------------ write
    def flush(self) -> None:
        """Start embedding the current batch in the background, then store the batch before
        it: the model (which releases the GIL) keeps the cores busy while this thread writes
        to Chroma and the ledger. Only this thread touches the index, in batch order."""
        if not self.batch:
            return
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for item in self.batch:
            for c in item.chunks:
                ids.append(c.chunk_id)
                texts.append(schema.embedding_text(item.article.title, c.text))
                metas.append(chunk_metadata(item.article, c))
        embedder = self.embedder  # loaded and checked here, not in the worker
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        vectors = self._pool.submit(embedder.embed_documents, texts)
        pending = _Pending(self.batch, self.deferred, ids, metas, vectors)
        self.in_flight_hashes = self.batch_hashes
        self.batch, self.batch_hashes, self.deferred = [], set(), []
        previous, self._in_flight = self._in_flight, pending
        if previous is not None:
            self._store(previous)

    def finish(self) -> None:
        """Flush and store everything still in memory."""
        self.flush()
        if self._in_flight is not None:
            pending, self._in_flight = self._in_flight, None
            self._store(pending)
        self.in_flight_hashes = set()
        if self.deferred:  # aliases of texts the last batch stored
            self._store_aliases(self.deferred)
            self.deferred = []

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _store(self, pending: _Pending) -> None:
        vectors = pending.vectors.result()
        ids = pending.ids
        with self.ledger.transaction():
            self.ledger.add_pending(ids, OP_ADD)
        self.index.vectors.upsert(ids, vectors, pending.metas)
        doomed: list[str] = []
        with self.ledger.transaction():
            for item in pending.batch:
                self.ledger.put_text(item.article, item.content, item.chunks)
                self.ledger.put_article(
                    item.article, item.content, item.source.origin, item.source.rel
                )
                doomed += self._release(item.old)
            doomed += self._put_aliases(pending.deferred)
            self.ledger.clear_pending(OP_ADD, ids)
            self.ledger.bump_generation()
            self._log_deletes(doomed)
        self._finish_deletes(doomed)
        self.report.chunks_added += len(ids)

    def _put_aliases(self, deferred: list[tuple[Article, str, Source]]) -> list[str]:
        """Record doc_ids whose text is stored (inside the caller's transaction)."""
        doomed: list[str] = []
        for alias, content, src in deferred:
            old = self.ledger.article_hash(alias.doc_id)
            self.ledger.put_article(alias, content, src.origin, src.rel)
            if old != content:
                doomed += self._release(old)
        return doomed

    def _store_aliases(self, deferred: list[tuple[Article, str, Source]]) -> None:
        with self.ledger.transaction():
            doomed = self._put_aliases(deferred)
            self.ledger.bump_generation()
            self._log_deletes(doomed)
        self._finish_deletes(doomed)

    def remove(self, doc_id: str) -> None:
        old = self.ledger.article_hash(doc_id)
        with self.ledger.transaction():
            self.ledger.delete_article(doc_id)
            doomed = self._release(old)
            self.ledger.bump_generation()
            self._log_deletes(doomed)
        self._finish_deletes(doomed)
        self.report.articles_removed += 1


def _reader(
    sources: Sequence[Source],
    settings: Settings,
    known: dict[str, str],
    known_texts: set[str],
    out: queue.Queue[_Loaded | BaseException | None],
    stop: threading.Event,
) -> None:
    """Background: load and chunk each source, skipping chunking for text already stored."""
    try:
        for src in sources:
            if stop.is_set():
                break
            try:
                articles, errors = load(
                    src,
                    max_file_bytes=settings.max_file_bytes,
                    url_timeout_s=settings.url_timeout_s,
                    url_max_bytes=settings.url_max_bytes,
                )
            except IngestError as exc:
                out.put(_Loaded(src, [], [exc], True))
                continue
            items: list[tuple[Article, str, list[Chunk] | None]] = []
            for a in articles:
                content = schema.content_hash(a.title, a.text)
                chunks = None
                if known.get(a.doc_id) != content and content not in known_texts:
                    chunks = chunk_text(
                        content,
                        a.text,
                        max_tokens=settings.chunk_tokens,
                        overlap=settings.chunk_overlap,
                    )
                items.append((a, content, chunks))
            out.put(_Loaded(src, items, errors, False))
    except BaseException as exc:  # hand anything unexpected to the main thread
        out.put(exc)
    finally:
        out.put(None)


def _loaded(sources: Sequence[Source], settings: Settings, index: Index) -> Iterator[_Loaded]:
    known = index.ledger.all_article_hashes()
    known_texts = set(known.values())
    out: queue.Queue[_Loaded | BaseException | None] = queue.Queue(maxsize=64)
    stop = threading.Event()
    thread = threading.Thread(
        target=_reader, args=(sources, settings, known, known_texts, out, stop), daemon=True
    )
    thread.start()
    try:
        while True:
            item = out.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                out.get(timeout=0.1)


def ingest(
    settings: Settings,
    inputs: Sequence[str],
    *,
    prune: bool = False,
    progress: bool = False,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Ingest files, folders and URLs into the index named by `settings`."""
    from tqdm import tqdm

    started = time.perf_counter()
    sources, discovery_errors = discover(inputs)
    index = Index.open(settings, create=True)
    job: _Ingest | None = None
    try:
        index.check_chunking(settings)
        identity = model_identity(
            settings.embedding_model, resolve_model_path(settings.embedding_model)
        )
        stored = index.ledger.get_meta("embedding_model")
        if stored is not None and stored != identity:
            index.check_identity(identity, 0, settings)
        index.recover()

        def factory() -> Embedder:
            if embedder is not None:
                return embedder
            return load_embedder(settings)

        job = _Ingest(settings, index, factory)
        job.report.files_seen = len(sources)
        job.report.errors.extend(discovery_errors)
        seen: set[str] = set()
        files_ok: dict[str, set[str]] = {}
        files_present: dict[str, set[str]] = {}
        bar = tqdm(total=len(sources), unit="file", disable=not progress, leave=False)
        with bar:
            for item in _loaded(sources, settings, index):
                bar.update(1)
                src = item.source
                files_present.setdefault(src.origin, set()).add(src.rel)
                job.report.errors.extend(item.errors)
                if item.failed:
                    continue
                files_ok.setdefault(src.origin, set()).add(src.rel)
                for article, content, chunks in item.articles:
                    if article.doc_id in seen:
                        job.report.errors.append(
                            IngestError(
                                src.rel, f"doc_id {article.doc_id!r} seen twice; kept first"
                            )
                        )
                        continue
                    seen.add(article.doc_id)
                    job.take(article, content, chunks, src)
            job.finish()
        if prune:
            for origin in {s.origin for s in sources} | _origins_of(inputs):
                for doc_id, file in index.ledger.articles_by_origin(origin).items():
                    gone = file not in files_present.get(origin, set())
                    dropped = file in files_ok.get(origin, set()) and doc_id not in seen
                    if gone or dropped:
                        job.remove(doc_id)
        _store_example_questions(index, inputs)
        if lexical.stamp(index.dir) != index.ledger.generation:
            lexical.save(lexical.build(index.ledger), index.dir)
    finally:
        if job is not None:
            job.close()
        index.close()
    job.report.seconds = time.perf_counter() - started
    return job.report


EXAMPLES_FILE = ".newsdesk-questions"


def _store_example_questions(index: Index, inputs: Sequence[str]) -> None:
    """An archive folder may suggest questions for the UI: one per line in a hidden
    `.newsdesk-questions` file at its top. They are kept in the ledger."""
    from pathlib import Path

    questions: list[str] = []
    for raw in inputs:
        path = Path(raw) / EXAMPLES_FILE
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            questions += [q.strip() for q in lines if q.strip() and not q.startswith("#")]
    if questions:
        import json

        with index.ledger.transaction():
            index.ledger.set_meta("example_questions", json.dumps(questions[:20]))


def _origins_of(inputs: Sequence[str]) -> set[str]:
    """Origins of the inputs (also of folders that are now empty), as loaders name them."""
    from pathlib import Path

    out = set()
    for raw in inputs:
        if raw.startswith(("http://", "https://")):
            out.add(raw)
        else:
            out.add(str(Path(raw).resolve()))
    return out


__all__ = ["IngestReport", "NewsdeskError", "chunk_metadata", "ingest"]
