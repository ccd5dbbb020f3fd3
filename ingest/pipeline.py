"""Ingest: article files in, chunks in the ledger, Chroma and BM25 out.

Idempotent (ids derive from content; unchanged articles are skipped by hash before anything is
embedded), deduplicating (identical texts are stored once, extra doc_ids become aliases) and
crash-safe: every write goes through `Index.store` / `add_aliases` / `remove`, which own the
protocol (intent log, one transaction that makes an article count, alias promotion; see
`newsdesk.store.index`). This module only reads the ledger.

Reading and chunking run in a background thread; each batch is embedded in another while the
main thread stores the batch before it (only the main thread touches the index). The embedding
thread also counts each chunk's word pieces: a chunk longer than the model's limit is silently
cut by the model, so ingest warns once and reports how many were.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.core.config import Settings
from newsdesk.core.errors import IngestError, NewsdeskError
from newsdesk.core.types import Article, Chunk
from newsdesk.embedding import Embedder, load_embedder, model_identity, resolve_model_path
from newsdesk.ingest.chunking import chunk_text
from newsdesk.ingest.loaders import Source, discover, load_parts
from newsdesk.ingest.repair import restore_vectors, vectors_missing
from newsdesk.store import lexical, origins, schema
from newsdesk.store.index import Alias, Index, NewText

log = logging.getLogger(__name__)

# Reads one source as `loaders.load_parts` does: its (articles, errors), a part at a time.
Loader = Callable[[Source], Iterable[tuple[list[Article], list[IngestError]]]]


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
    chunks_truncated: int = 0  # longer than the embedding model's limit: it read only the start
    vectors_restored: int = 0  # chunks of stored articles whose lost vectors were re-embedded
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
            "chunks_truncated": self.chunks_truncated,
            "vectors_restored": self.vectors_restored,
            "errors": [{"path": e.path, "reason": e.reason} for e in self.errors],
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        truncated = f", {self.chunks_truncated} truncated" if self.chunks_truncated else ""
        if self.vectors_restored:
            truncated += f", {self.vectors_restored} lost vectors restored"
        return (
            f"{self.files_seen} files: {self.articles_added} added, {self.articles_updated} "
            f"updated, {self.articles_unchanged} unchanged, {self.duplicates} duplicates, "
            f"{self.articles_removed} removed; {self.chunks_added} chunks added, "
            f"{self.chunks_removed} removed{truncated}; {len(self.errors)} errors; "
            f"{self.seconds:.1f}s"
        )


@dataclass
class _Loaded:
    """A part of one source read and (where new) chunked by the background reader. A source
    ends with a part that is `last` (read to its end) or `failed` (the whole source, or the
    rest of it, could not be read: the parts before it hold, but it does not count as read)."""

    source: Source
    articles: list[tuple[Article, str, list[Chunk] | None]]  # (article, content hash, chunks)
    errors: list[IngestError]
    failed: bool = False
    last: bool = False


@dataclass(frozen=True)
class _Embedded:
    """A batch's vectors, and how many of its texts the model had to cut."""

    vectors: np.ndarray
    truncated: int  # texts over the model's limit
    longest: int  # word pieces of the longest text


def _embed(embedder: Embedder, texts: list[str]) -> _Embedded:
    """In the embedding thread: count the batch's word pieces (one batched tokenizer call),
    then embed it."""
    counts = embedder.count_tokens(texts)
    vectors = embedder.embed_documents(texts)
    over = sum(n > embedder.max_tokens for n in counts)
    return _Embedded(vectors, over, max(counts, default=0))


@dataclass
class _Pending:
    """A batch whose vectors are being computed, stored once they are."""

    batch: list[NewText]
    deferred: list[Alias]  # doc_ids whose text is in this batch or the one before
    embedded: Future[_Embedded]


class IngestJob:
    """One ingest's writes: classifies each article (unchanged, duplicate, new, updated),
    batches new texts for embedding and stores them in order. `ingest` and `reindex` feed it."""

    def __init__(self, settings: Settings, index: Index, embedder: Callable[[], Embedder]):
        self.settings = settings
        self.index = index
        self.ledger = index.ledger
        self._embedder_factory = embedder
        self._embedder: Embedder | None = None
        self.report = IngestReport()
        self.longest = 0  # word pieces of the longest chunk embedded
        self.batch: list[NewText] = []
        self.batch_hashes: set[str] = set()
        self.in_flight_hashes: set[str] = set()  # texts of the batch being embedded
        self._in_flight: _Pending | None = None
        self._pool: ThreadPoolExecutor | None = None
        self.deferred: list[Alias] = []  # aliases of texts in the batch or being embedded

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
            self.deferred.append(Alias(article, content, src.origin, src.rel))
            self.report.duplicates += 1
            return
        if self.ledger.has_text(content):
            written = self.index.add_aliases([Alias(article, content, src.origin, src.rel)])
            self.report.chunks_removed += written.chunks_removed
            self.report.duplicates += 1
            return
        if chunks is None:
            chunks = self._chunk(article, content)
        if not chunks:
            self.report.errors.append(IngestError(article.doc_id, "no text to index"))
            return
        self.batch.append(NewText(article, content, chunks, src.origin, src.rel))
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

    # ------------------------------------------------------------ write
    def flush(self) -> None:
        """Start embedding the current batch in the background, then store the batch before
        it: the model (which releases the GIL) keeps the cores busy while this thread writes
        to Chroma and the ledger. Only this thread touches the index, in batch order."""
        if not self.batch:
            return
        texts = [
            schema.embedding_text(item.article.title, c.text)
            for item in self.batch
            for c in item.chunks
        ]
        embedder = self.embedder  # loaded and checked here, not in the worker
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        embedded = self._pool.submit(_embed, embedder, texts)
        pending = _Pending(self.batch, self.deferred, embedded)
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
            written = self.index.add_aliases(self.deferred)
            self.report.chunks_removed += written.chunks_removed
            self.deferred = []
        if self.report.chunks_truncated:
            log.warning(
                "%d chunks are longer than the embedding model's limit of %d word pieces "
                "(the longest has %d) and were embedded from their start only; a smaller "
                "chunk_tokens (in a new index) avoids this",
                self.report.chunks_truncated,
                self.embedder.max_tokens,
                self.longest,
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _store(self, pending: _Pending) -> None:
        embedded = pending.embedded.result()
        self.report.chunks_truncated += embedded.truncated
        self.longest = max(self.longest, embedded.longest)
        written = self.index.store(pending.batch, embedded.vectors, pending.deferred)
        self.report.chunks_added += written.chunks_added
        self.report.chunks_removed += written.chunks_removed

    def remove(self, doc_id: str) -> None:
        written = self.index.remove(doc_id)
        self.report.chunks_removed += written.chunks_removed
        self.report.articles_removed += 1


def _reader(
    sources: Sequence[Source],
    settings: Settings,
    known: dict[str, str],
    known_texts: set[str],
    out: queue.Queue[_Loaded | BaseException | None],
    stop: threading.Event,
    loader: Loader | None = None,
) -> None:
    """Background: load and chunk each source a part at a time (a big record file is never
    held whole), skipping chunking for text already stored."""
    read = loader or functools.partial(
        load_parts,
        max_file_bytes=settings.max_file_bytes,
        url_timeout_s=settings.url_timeout_s,
        url_max_bytes=settings.url_max_bytes,
    )
    try:
        for src in sources:
            if stop.is_set():
                break
            try:
                for articles, errors in read(src):
                    out.put(_Loaded(src, _chunked(articles, settings, known, known_texts), errors))
                    if stop.is_set():
                        return
            except IngestError as exc:
                out.put(_Loaded(src, [], [exc], failed=True))
                continue
            out.put(_Loaded(src, [], [], last=True))
    except BaseException as exc:  # hand anything unexpected to the main thread
        out.put(exc)
    finally:
        out.put(None)


def _chunked(
    articles: list[Article], settings: Settings, known: dict[str, str], known_texts: set[str]
) -> list[tuple[Article, str, list[Chunk] | None]]:
    items: list[tuple[Article, str, list[Chunk] | None]] = []
    for a in articles:
        content = schema.content_hash(a.title, a.text)
        chunks = None
        if known.get(a.doc_id) != content and content not in known_texts:
            chunks = chunk_text(
                content, a.text, max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap
            )
        items.append((a, content, chunks))
    return items


def _loaded(
    sources: Sequence[Source], settings: Settings, index: Index, loader: Loader | None = None
) -> Iterator[_Loaded]:
    known = index.ledger.all_article_hashes()
    known_texts = set(known.values())
    out: queue.Queue[_Loaded | BaseException | None] = queue.Queue(maxsize=64)
    stop = threading.Event()
    thread = threading.Thread(
        target=_reader,
        args=(sources, settings, known, known_texts, out, stop, loader),
        daemon=True,
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
    loader: Loader | None = None,
) -> IngestReport:
    """Ingest files, folders and URLs into the index named by `settings`. `loader` reads a
    source in place of `loaders.load_parts` (`newsdesk watch` hands over what it fetched)."""
    from tqdm import tqdm

    started = time.perf_counter()
    sources, discovery_errors = discover(inputs)
    index = Index.open(settings, create=True)
    job: IngestJob | None = None
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

        job = IngestJob(settings, index, factory)
        job.report.files_seen = len(sources)
        job.report.errors.extend(discovery_errors)
        seen: set[str] = set()
        files_ok: dict[str, set[str]] = {}
        files_present: dict[str, set[str]] = {}
        bar = tqdm(total=len(sources), unit="file", disable=not progress, leave=False)
        with bar:
            for item in _loaded(sources, settings, index, loader):
                src = item.source
                files_present.setdefault(src.origin, set()).add(src.rel)
                job.report.errors.extend(item.errors)
                if item.failed or item.last:
                    bar.update(1)
                if item.last:
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
        missing = vectors_missing(index)
        if missing:  # vectors lost since (a deleted store): the ledger still has the chunks
            log.warning("%d chunks have no vector: embedding them again", len(missing))
            job.report.vectors_restored = restore_vectors(index, job.embedder, missing)
        _store_example_questions(index, inputs)
        with index.ledger.transaction():  # when each origin read was last ingested
            origins.OriginTable.of(index.ledger).record(files_ok)
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
    questions: list[str] = []
    for raw in inputs:
        path = Path(raw) / EXAMPLES_FILE
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            questions += [q.strip() for q in lines if q.strip() and not q.startswith("#")]
    if questions:
        index.record_example_questions(questions[:20])


def _origins_of(inputs: Sequence[str]) -> set[str]:
    """Origins of the inputs (also of folders that are now empty), as loaders name them."""
    out = set()
    for raw in inputs:
        if raw.startswith(("http://", "https://")):
            out.add(raw)
        else:
            out.add(str(Path(raw).resolve()))
    return out


__all__ = ["IngestJob", "IngestReport", "NewsdeskError", "ingest"]
