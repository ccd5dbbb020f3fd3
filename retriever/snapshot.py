"""What a search reads while ingests change the index: one frozen snapshot per generation.

`Snapshot` is the ranking state of one ledger generation (the BM25 model, the chunk table in
BM25 row order, document frequencies), built once and never changed: searches share it
without a lock. `QueryVectors` caches question embeddings for all threads. `StoreGate` lets
vector-store calls run side by side while a reopen of the store waits for them to finish.
See `retriever.search` for how a search holds itself to one snapshot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newsdesk.core.types import Filters
from newsdesk.embedding import Embedder
from newsdesk.retriever.names import Cooccurrence, NameTable
from newsdesk.store import lexical, schema
from newsdesk.store.ledger import Ledger, StoredChunk


@dataclass(frozen=True)
class ChunkTable:
    """Per-chunk metadata in BM25 row order, for filtering BM25 scores without SQL."""

    chunk_ids: list[str]
    doc: list[str]
    day: np.ndarray  # int32, -1 when undated
    source: np.ndarray  # object array of str
    category: np.ndarray
    row: dict[str, int]  # chunk id -> its row

    def mask(self, filters: Filters) -> np.ndarray | None:
        if filters.is_empty():
            return None
        keep = np.ones(len(self.chunk_ids), dtype=bool)
        if filters.since is not None:
            since = schema.day_number(filters.since.isoformat())
            keep &= self.day >= (since if since is not None else 0)
        if filters.until is not None:
            until = schema.day_number(filters.until.isoformat())
            keep &= (self.day >= 0) & (self.day <= (until if until is not None else 0))
        if filters.sources:
            keep &= np.isin(self.source, list(filters.sources))
        if filters.categories:
            keep &= np.isin(self.category, list(filters.categories))
        if filters.doc_ids is not None:
            keep &= np.isin(np.asarray(self.doc, dtype=object), list(filters.doc_ids))
        return keep

    def agrees(self, chunk: StoredChunk) -> bool:
        """Does the ledger's row for `chunk` still say what this table says? (A chunk id fixes
        its text and offsets; its canonical article and that one's metadata can change.)"""
        i = self.row.get(chunk.chunk_id)
        return (
            i is not None
            and self.doc[i] == chunk.doc_id
            and int(self.day[i]) == _day(chunk.published)
            and self.source[i] == chunk.source
            and self.category[i] == chunk.category
        )


@dataclass(frozen=True)
class Snapshot:
    """The ranking state of one ledger generation. Built once, never changed afterwards."""

    generation: int
    bm25: lexical.Bm25
    table: ChunkTable
    df: np.ndarray  # document frequency of each BM25 vocabulary id
    # Every text of this generation has sentence vectors: the sentence reader may re-rank.
    # (Decided per snapshot, so a search gets the same order all through an enrich.)
    read: bool = False
    # Who the archive's descriptions point to (from the descriptors mined at ingest).
    names: NameTable = field(default_factory=NameTable)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a (stemmed) term over the chunks."""
        n = len(self.bm25.chunk_ids)
        if n == 0:
            return 0.0
        return float(np.log((n + 1) / (self._df(term) + 0.5)))

    def share(self, term: str) -> float:
        """The share of chunks that hold a (stemmed) term: 0.0 for one the archive lacks."""
        n = len(self.bm25.chunk_ids)
        return self._df(term) / n if n else 0.0

    def _df(self, term: str) -> int:
        i = self.bm25.model.vocab_dict.get(term)
        return int(self.df[i]) if i is not None and i < len(self.df) else 0


def load_snapshot(ledger: Ledger, index_dir: Path, *, read: bool = False) -> Snapshot:
    """The snapshot of `ledger`'s generation. Read it inside one transaction
    (`LedgerReaders.snapshot()`), so that the BM25 model and the table describe one state."""
    generation = ledger.generation
    bm25 = lexical.load_or_build(ledger, index_dir)
    rows = {r[0]: r for r in ledger.chunk_table()}
    order = [rows[c] for c in bm25.chunk_ids if c in rows]
    if len(order) != len(bm25.chunk_ids):  # BM25 older than the ledger: rebuild
        bm25 = lexical.build(ledger)
        order = [rows[c] for c in bm25.chunk_ids]
    table = ChunkTable(
        chunk_ids=bm25.chunk_ids,
        doc=[r[1] for r in order],
        day=frozen(np.array([_day(r[2]) for r in order], dtype=np.int32)),
        source=frozen(np.array([r[3] for r in order], dtype=object)),
        category=frozen(np.array([r[4] for r in order], dtype=object)),
        row={c: i for i, c in enumerate(bm25.chunk_ids)},
    )
    df = np.diff(np.asarray(bm25.model.scores["indptr"])) if bm25.chunk_ids else np.zeros(0)
    names = NameTable.build(
        ledger.descriptor_counts(), ledger.names_stamp, _article_cooccurrence(bm25, table)
    )
    return Snapshot(generation, bm25, table, frozen(df), read, names)


def _article_cooccurrence(bm25: lexical.Bm25, table: ChunkTable) -> Cooccurrence:
    """How many articles hold all of some terms, and how many of those all of some others,
    from the BM25 postings (a term's chunks) and the chunks' articles."""
    if not bm25.chunk_ids:
        return lambda key, name: (0, 0)
    indptr = np.asarray(bm25.model.scores["indptr"])
    indices = np.asarray(bm25.model.scores["indices"])
    article_of = np.unique(np.array(table.doc, dtype=object), return_inverse=True)[1]
    vocab = bm25.model.vocab_dict

    def articles(terms: list[str]) -> np.ndarray:
        held: np.ndarray | None = None
        for term in dict.fromkeys(terms):
            i = vocab.get(term)
            if i is None or i + 1 >= len(indptr):
                return np.zeros(0, dtype=np.int64)
            mine = np.unique(article_of[indices[indptr[i] : indptr[i + 1]]])
            held = mine if held is None else np.intersect1d(held, mine, assume_unique=True)
        return held if held is not None else np.zeros(0, dtype=np.int64)

    def counts(key: list[str], name: list[str]) -> tuple[int, int]:
        with_key = articles(key)
        return len(with_key), len(np.intersect1d(with_key, articles(name), assume_unique=True))

    return counts


class QueryVectors:
    """Query embeddings by text, shared by the threads: a search embeds its question once
    however often ranking asks for it. Embedding happens outside the lock."""

    def __init__(self, embedder: Embedder, kept: int = 64) -> None:
        self._embedder = embedder
        self._kept = kept
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def __call__(self, query: str) -> np.ndarray:
        with self._lock:
            vector = self._vectors.get(query)
            if vector is not None:
                self._vectors.move_to_end(query)
                return vector
        vector = frozen(self._embedder.embed_query(query))
        with self._lock:
            self._vectors[query] = vector
            while len(self._vectors) > self._kept:
                self._vectors.popitem(last=False)
        return vector


class StoreGate:
    """Held by many at once, or by one alone. Those sharing it never wait for each other; one
    who wants it alone waits for them to leave, and newcomers wait until that one is done."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._sharing = 0
        self._alone = False
        self._queued = 0  # waiting to hold it alone

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._alone or self._queued:
                self._cond.wait()
            self._sharing += 1
        try:
            yield
        finally:
            with self._cond:
                self._sharing -= 1
                if not self._sharing:
                    self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._cond:
            self._queued += 1
            while self._alone or self._sharing:
                self._cond.wait()
            self._queued -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._cond:
                self._alone = False
                self._cond.notify_all()


def frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _day(published: str) -> int:
    day = schema.day_number(published)
    return -1 if day is None else day


__all__ = ["ChunkTable", "QueryVectors", "Snapshot", "StoreGate", "frozen", "load_snapshot"]
