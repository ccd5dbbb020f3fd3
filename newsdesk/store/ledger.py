"""The ledger: the SQLite source of truth of an index.

It records which articles are stored (and under which content), every chunk's text and offsets,
aliases of exact duplicates, the index's identity (embedding model, chunking), and an intent log
of vector-store writes so that a crash at any moment can be repaired on the next open.

The write methods here are single statements for `newsdesk.store.index.Index`, which owns the
protocol that keeps the ledger and the vector store in step (the order of intents, commits and
vector writes). Ingest writes only through `Index`; only bench/scale_bench.py, growing a
throwaway index, writes rows directly.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.core.errors import IndexCorruptError, IndexNotFoundError, IndexWriteError
from newsdesk.core.text import readable_title, split_key
from newsdesk.core.types import (
    Article,
    Chunk,
    DateSpan,
    Descriptor,
    Entity,
    IndexStats,
    Quote,
)
from newsdesk.store import names as name_table
from newsdesk.store import schema
from newsdesk.store import stories as story_table

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS texts (
    content_hash TEXT PRIMARY KEY, doc_id TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    source TEXT NOT NULL, published TEXT NOT NULL, url TEXT NOT NULL, category TEXT NOT NULL,
    author TEXT NOT NULL, n_chunks INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS texts_by_doc ON texts(doc_id);
CREATE TABLE IF NOT EXISTS articles (
    doc_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, origin TEXT NOT NULL, file TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS articles_by_origin ON articles(origin);
CREATE INDEX IF NOT EXISTS articles_by_hash ON articles(content_hash);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, position INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, n_tokens INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_hash ON chunks(content_hash);
CREATE TABLE IF NOT EXISTS pending (chunk_id TEXT NOT NULL, op TEXT NOT NULL,
    PRIMARY KEY (chunk_id, op));
CREATE TABLE IF NOT EXISTS entities (
    content_hash TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    label TEXT NOT NULL, text TEXT NOT NULL, PRIMARY KEY (content_hash, start, "end", label));
CREATE TABLE IF NOT EXISTS enriched (content_hash TEXT PRIMARY KEY, model TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sentences (
    content_hash TEXT PRIMARY KEY, model TEXT NOT NULL, spans BLOB NOT NULL, vectors BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS descriptors (
    content_hash TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    kind TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (content_hash, start, "end", kind));
CREATE TABLE IF NOT EXISTS quotes (
    content_hash TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    speaker TEXT, mention TEXT NOT NULL, attribution TEXT NOT NULL,
    PRIMARY KEY (content_hash, start));
CREATE TABLE IF NOT EXISTS people (
    content_hash TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
    mentions INTEGER NOT NULL, PRIMARY KEY (content_hash, name, type));
CREATE INDEX IF NOT EXISTS people_by_name ON people(name);
CREATE TABLE IF NOT EXISTS described (content_hash TEXT PRIMARY KEY, version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (content_hash TEXT PRIMARY KEY, starts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watched (url TEXT PRIMARY KEY, validators TEXT NOT NULL);
"""

_TEXT_COLS = "content_hash, doc_id, title, text, source, published, url, category, author, n_chunks"
_CHUNK_COLS = (
    'c.chunk_id, c.content_hash, t.doc_id, c.position, c.start, c."end", c.text, '
    "t.title, t.source, t.published, t.url, t.category, p.starts"
)


def read_only_filesystem(path: Path) -> bool:
    """Is `path` on a file system mounted read-only? An index there can be read, not written."""
    statvfs = getattr(os, "statvfs", None)
    try:
        return statvfs is not None and bool(statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@dataclass(frozen=True)
class StoredChunk:
    """A chunk row joined with its article's metadata: what a Passage is made from."""

    chunk_id: str
    content_hash: str
    doc_id: str
    position: int
    start: int
    end: int
    text: str
    title: str
    source: str
    published: str
    url: str
    category: str
    pages: tuple[int, ...] = ()  # where the text's pages start (PDF); () for most texts


def _chunk_row(row: Sequence[Any]) -> StoredChunk:
    """A chunk row whose last column is its text's page starts (NULL for most texts)."""
    chunk = StoredChunk(*row[:-1])
    return replace(chunk, pages=tuple(json.loads(row[-1]))) if row[-1] else chunk


@dataclass(frozen=True)
class SentenceVectors:
    """The sentences of one stored text: (start, end) offsets into it, one row each, and
    their unit-length embeddings, one row each."""

    spans: np.ndarray  # (n, 2) int
    vectors: np.ndarray  # (n, dimension) float16


class Ledger:
    """Thin, typed access to ledger.sqlite. One instance per process and thread of writes."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, index_dir: Path, *, create: bool) -> Ledger:
        path = Path(index_dir) / schema.LEDGER_FILE
        if not path.exists():
            if not create:
                raise IndexNotFoundError(
                    f"no Newsdesk index at {index_dir} (run `newsdesk ingest PATH` first)"
                )
            if Path(index_dir).is_dir() and any(Path(index_dir).iterdir()):
                foreign = [p.name for p in Path(index_dir).iterdir()][:3]
                raise IndexCorruptError(
                    f"{index_dir} is not empty and holds no Newsdesk ledger "
                    f"(found {', '.join(foreign)}); choose an empty or Newsdesk index directory"
                )
            try:
                Path(index_dir).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexWriteError(f"cannot create index directory {index_dir}: {exc}") from exc
        read_only = read_only_filesystem(Path(index_dir))
        if read_only and create:
            raise IndexWriteError(f"cannot write the index at {index_dir}: read-only file system")
        try:
            if read_only:  # nothing can change it: read without WAL files or locks
                uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_DDL + story_table.DDL)
        except sqlite3.DatabaseError as exc:
            if any(s in str(exc) for s in ("readonly", "unable to open", "disk is full")):
                raise IndexWriteError(f"cannot write the index at {path}: {exc}") from exc
            raise IndexCorruptError(f"{path} is not a Newsdesk ledger: {exc}") from exc
        ledger = cls(conn, path)
        if ledger.get_meta("schema_version") is None:
            if not create:
                raise IndexCorruptError(f"{path} is an empty ledger; re-run `newsdesk ingest`")
            with ledger.transaction():
                ledger.set_meta("schema_version", str(schema.SCHEMA_VERSION))
                ledger.set_meta("index_id", uuid.uuid4().hex[:12])
                ledger.set_meta("generation", "0")
        elif ledger.get_meta("schema_version") != str(schema.SCHEMA_VERSION):
            raise IndexCorruptError(
                f"{path} has schema version {ledger.get_meta('schema_version')}, "
                f"this Newsdesk reads version {schema.SCHEMA_VERSION}"
            )
        return ledger

    def close(self) -> None:
        self._conn.close()

    @functools.cached_property
    def _pages(self) -> str:
        """The page table to join, or an empty stand-in in an older index opened read-only
        (which cannot add the table)."""
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='pages'"
        ).fetchone()
        return "pages" if found else "(SELECT '' AS content_hash, '' AS starts WHERE 0)"

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._conn:
                yield self._conn
        except sqlite3.OperationalError as exc:
            raise IndexWriteError(f"cannot write the index at {self.path}: {exc}") from exc

    @property
    def stories(self) -> story_table.StoryTable:
        """The story of each text (`newsdesk.store.stories`)."""
        return story_table.StoryTable(self._conn)

    @property
    def names(self) -> name_table.NameTable:
        """The articles and roles of a name (`newsdesk.store.names`)."""
        return name_table.NameTable(self._conn)

    # ---------------------------------------------------------------- meta
    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    @property
    def read_generation(self) -> int | None:
        """The generation at which every stored text last had sentence vectors (None: never)."""
        value = self.get_meta("sentences_read")
        return int(value) if value is not None else None

    def mark_read_if_complete(self, model: str) -> bool:
        """Record that every text of this generation has sentence vectors from `model`, if it
        does (run inside a transaction, so no ingest commits between the count and the mark)."""
        if self.sentence_progress(model)[0]:
            return False
        self.set_meta("sentences_read", str(self.generation))
        return True

    def bump_generation(self) -> None:
        self.set_meta("generation", str(self.generation + 1))

    # ---------------------------------------------------------------- watched URLs
    def watched(self, url: str) -> dict[str, str]:
        """What `newsdesk watch` last saw of `url` (its ETag, Last-Modified, a digest of the
        body); {} when it never did."""
        row = self._conn.execute("SELECT validators FROM watched WHERE url=?", (url,)).fetchone()
        return {} if row is None else {str(k): str(v) for k, v in json.loads(row[0]).items()}

    def put_watched(self, seen: Mapping[str, Mapping[str, str]]) -> None:
        """Record what the watcher saw of each URL, in one transaction."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO watched(url, validators) VALUES (?, ?)",
                [(url, json.dumps(dict(v), sort_keys=True)) for url, v in seen.items()],
            )

    # ---------------------------------------------------------------- reads
    def article_hash(self, doc_id: str) -> str | None:
        row = self._conn.execute(
            "SELECT content_hash FROM articles WHERE doc_id=?", (doc_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def has_text(self, content_hash: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM texts WHERE content_hash=?", (content_hash,))
        return row.fetchone() is not None

    def canonical(self, content_hash: str) -> str | None:
        row = self._conn.execute(
            "SELECT doc_id FROM texts WHERE content_hash=?", (content_hash,)
        ).fetchone()
        return None if row is None else str(row[0])

    def articles_by_origin(self, origin: str) -> dict[str, str]:
        """doc_id -> file (relative to the origin) of every article ingested from `origin`."""
        rows = self._conn.execute("SELECT doc_id, file FROM articles WHERE origin=?", (origin,))
        return {str(a): str(b) for a, b in rows}

    def all_aliases(self) -> dict[str, str]:
        """alias doc_id -> canonical doc_id, for every duplicate in the index."""
        rows = self._conn.execute(
            "SELECT a.doc_id, t.doc_id FROM articles a JOIN texts t "
            "ON a.content_hash=t.content_hash WHERE a.doc_id != t.doc_id"
        )
        return {str(a): str(c) for a, c in rows}

    def article(self, doc_id: str) -> Article | None:
        """The article stored under `doc_id` (an alias has its own metadata, shared text)."""
        row = self._conn.execute(
            "SELECT t.title, t.text, t.source, t.published, t.url, t.category, t.author, a.meta, "
            "p.starts FROM articles a JOIN texts t ON a.content_hash=t.content_hash "
            f"LEFT JOIN {self._pages} p ON p.content_hash=a.content_hash WHERE a.doc_id=?",
            (doc_id,),
        ).fetchone()
        if row is None:
            return None
        title, text, source, published, url, category, author, meta, pages = row
        own = json.loads(meta or "{}")
        return Article(
            doc_id,
            title,
            text,
            own.get("source", source),
            own.get("published", published),
            own.get("url", url),
            own.get("category", category),
            own.get("author", author),
            tuple(json.loads(pages)) if pages else (),
        )

    def stored_articles(self) -> Iterator[tuple[Article, str, str, str]]:
        """(article, content hash, origin, file) of every stored article, each text's own
        doc_id before the aliases of it: what a re-index reads instead of the sources."""
        rows = self._conn.execute(
            "SELECT a.doc_id, a.content_hash, a.origin, a.file FROM articles a "
            "JOIN texts t ON a.content_hash=t.content_hash ORDER BY a.doc_id != t.doc_id, a.doc_id"
        ).fetchall()
        for doc_id, content, origin, file in rows:
            article = self.article(str(doc_id))
            if article is not None:
                yield article, str(content), str(origin), str(file)

    def chunk_ids(self, content_hash: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT chunk_id FROM chunks WHERE content_hash=? ORDER BY position", (content_hash,)
        )
        return [str(r[0]) for r in rows]

    def iter_chunks(self) -> Iterator[StoredChunk]:
        """Every stored chunk with its canonical article's metadata, in a stable order."""
        rows = self._conn.execute(
            f"SELECT {_CHUNK_COLS} FROM chunks c JOIN texts t ON c.content_hash=t.content_hash "
            f"LEFT JOIN {self._pages} p ON p.content_hash=c.content_hash ORDER BY c.chunk_id"
        )
        for row in rows:
            yield _chunk_row(row)

    def get_chunks(self, chunk_ids: list[str]) -> dict[str, StoredChunk]:
        out: dict[str, StoredChunk] = {}
        for i in range(0, len(chunk_ids), 500):
            part = chunk_ids[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._conn.execute(
                f"SELECT {_CHUNK_COLS} FROM chunks c JOIN texts t ON c.content_hash=t.content_hash "
                f"LEFT JOIN {self._pages} p ON p.content_hash=c.content_hash "
                f"WHERE c.chunk_id IN ({marks})",
                part,
            )
            out.update({r[0]: _chunk_row(r) for r in rows})
        return out

    def stats(self) -> IndexStats:
        c = self._conn
        sources = tuple(
            str(r[0])
            for r in c.execute(
                "SELECT DISTINCT source FROM texts WHERE source != '' ORDER BY source"
            )
        )
        categories = tuple(
            str(r[0])
            for r in c.execute(
                "SELECT DISTINCT category FROM texts WHERE category != '' ORDER BY category"
            )
        )
        earliest, latest = c.execute(
            "SELECT MIN(published), MAX(published) FROM texts WHERE published != ''"
        ).fetchone()
        articles = int(c.execute("SELECT COUNT(*) FROM texts").fetchone()[0])
        files = int(c.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
        return IndexStats(
            articles=articles,
            chunks=int(c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]),
            aliases=files - articles,
            sources=sources,
            categories=categories,
            earliest=str(earliest) if earliest else None,
            latest=str(latest) if latest else None,
            embedding_model=self.get_meta("embedding_model"),
        )

    def titles(self, limit: int) -> list[tuple[str, str]]:
        """(doc_id, title) of the most recent articles (undated last), for example questions;
        an all-capitals wire headline comes sentence-cased from its own text."""
        rows = self._conn.execute(
            "SELECT doc_id, title, substr(text, 1, 4000) FROM texts "
            "ORDER BY published DESC, doc_id LIMIT ?",
            (limit,),
        )
        return [(str(a), readable_title(str(b), str(c))) for a, b, c in rows]

    # ---------------------------------------------------------------- writes (for Index)
    def put_text(self, article: Article, content: str, chunks: list[Chunk]) -> None:
        """Record new content and its chunks (inside a transaction)."""
        self._conn.execute(
            f"INSERT OR REPLACE INTO texts({_TEXT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                content,
                article.doc_id,
                article.title,
                article.text,
                article.source,
                article.published,
                article.url,
                article.category,
                article.author,
                len(chunks),
            ),
        )
        self._conn.executemany(
            'INSERT OR REPLACE INTO chunks(chunk_id, content_hash, position, start, "end", '
            "n_tokens, text) VALUES (?,?,?,?,?,?,?)",
            [(c.chunk_id, content, c.position, c.start, c.end, c.n_tokens, c.text) for c in chunks],
        )
        if article.pages:
            self._conn.execute(
                "INSERT OR REPLACE INTO pages(content_hash, starts) VALUES (?, ?)",
                (content, json.dumps(list(article.pages))),
            )

    def put_article(self, article: Article, content: str, origin: str, file: str) -> None:
        meta = {
            "source": article.source,
            "published": article.published,
            "url": article.url,
            "category": article.category,
            "author": article.author,
        }
        self._conn.execute(
            "INSERT OR REPLACE INTO articles(doc_id, content_hash, origin, file, meta) "
            "VALUES (?,?,?,?,?)",
            (article.doc_id, content, origin, file, json.dumps(meta)),
        )

    def delete_article(self, doc_id: str) -> None:
        self._conn.execute("DELETE FROM articles WHERE doc_id=?", (doc_id,))

    def release(self, content: str) -> tuple[list[str], str | None]:
        """After an article stopped pointing at `content`: drop the content if nothing else
        points at it (returns its chunk ids, to delete from the vector store), or promote the
        first remaining alias to canonical (returns the new canonical doc_id)."""
        rows = self._conn.execute(
            "SELECT doc_id FROM articles WHERE content_hash=? ORDER BY doc_id", (content,)
        ).fetchall()
        if rows:
            new_canonical = str(rows[0][0])
            if self.canonical(content) != new_canonical:
                meta = json.loads(
                    self._conn.execute(
                        "SELECT meta FROM articles WHERE doc_id=?", (new_canonical,)
                    ).fetchone()[0]
                )
                self._conn.execute(
                    "UPDATE texts SET doc_id=?, source=?, published=?, url=?, category=?, "
                    "author=? WHERE content_hash=?",
                    (
                        new_canonical,
                        meta.get("source", ""),
                        meta.get("published", ""),
                        meta.get("url", ""),
                        meta.get("category", ""),
                        meta.get("author", ""),
                        content,
                    ),
                )
                return [], new_canonical
            return [], None
        ids = self.chunk_ids(content)
        self._conn.execute("DELETE FROM chunks WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM texts WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM pages WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM entities WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM enriched WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM sentences WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM descriptors WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM quotes WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM people WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM described WHERE content_hash=?", (content,))
        self._conn.execute("DELETE FROM stories WHERE content_hash=?", (content,))
        return ids, None

    # ---------------------------------------------------------------- named entities
    def unenriched(self, model: str, limit: int) -> list[tuple[str, str]]:
        """(content hash, text) of up to `limit` stored texts whose entities are missing or
        were found by another model than `model`."""
        rows = self._conn.execute(
            "SELECT t.content_hash, t.text FROM texts t LEFT JOIN enriched e "
            "ON e.content_hash=t.content_hash WHERE e.model IS NULL OR e.model != ? "
            "ORDER BY t.content_hash LIMIT ?",
            (model, limit),
        )
        return [(str(a), str(b)) for a, b in rows]

    def enrichment(self, model: str) -> tuple[int, int]:
        """(to do, done): stored texts without entities from `model`, and with them."""
        done, total = self._conn.execute(
            "SELECT COUNT(e.content_hash), COUNT(*) FROM texts t LEFT JOIN enriched e "
            "ON e.content_hash=t.content_hash AND e.model=?",
            (model,),
        ).fetchone()
        return int(total) - int(done), int(done)

    def put_entities(self, content: str, model: str, entities: Iterable[Entity]) -> None:
        """Replace the entities of `content` (inside a transaction), if it is still stored."""
        if not self.has_text(content):
            return  # removed while it was being read: nothing to annotate
        self._conn.execute("DELETE FROM entities WHERE content_hash=?", (content,))
        self._conn.executemany(
            'INSERT OR IGNORE INTO entities(content_hash, start, "end", label, text) '
            "VALUES (?,?,?,?,?)",
            [(content, e.start, e.end, e.label, e.text) for e in entities],
        )
        self._conn.execute(
            "INSERT OR REPLACE INTO enriched(content_hash, model) VALUES (?, ?)", (content, model)
        )

    def entities(self, doc_id: str) -> list[Entity]:
        """The named entities of the article stored under `doc_id` (an alias shares its
        canonical's), in text order; offsets point into `Ledger.article(doc_id).text`."""
        rows = self._conn.execute(
            'SELECT e.start, e."end", e.label, e.text FROM articles a JOIN entities e '
            'ON e.content_hash=a.content_hash WHERE a.doc_id=? ORDER BY e.start, e."end"',
            (doc_id,),
        )
        return [Entity(int(a), int(b), str(c), str(d)) for a, b, c, d in rows]

    # ---------------------------------------------------------------- descriptors, quotes
    # Mined from a text and its entities (`newsdesk.nlp.descriptors`, `newsdesk.nlp.quotes`)
    # by miner version `miner`; a text's row in `described` says which version and entity
    # model mined it.
    def undescribed(self, miner: str, limit: int) -> list[tuple[str, str, list[Entity]]]:
        """(content hash, text, entities) of up to `limit` texts that have entities but were
        not mined (descriptors, quotes, names) by `miner` from them."""
        rows = self._conn.execute(
            "SELECT t.content_hash, t.text, e.model FROM texts t JOIN enriched e "
            "ON e.content_hash=t.content_hash LEFT JOIN described d "
            "ON d.content_hash=t.content_hash WHERE d.version IS NULL OR d.version != ? || e.model "
            "ORDER BY t.content_hash LIMIT ?",
            (f"{miner}/", limit),
        ).fetchall()
        return [(str(h), str(text), self._text_entities(str(h))) for h, text, _ in rows]

    def description_progress(self, miner: str) -> tuple[int, int]:
        """(to do, done): texts with entities lacking descriptors by `miner`, and with them."""
        done, total = self._conn.execute(
            "SELECT COUNT(d.content_hash), COUNT(*) FROM texts t JOIN enriched e "
            "ON e.content_hash=t.content_hash LEFT JOIN described d "
            "ON d.content_hash=t.content_hash AND d.version = ? || e.model",
            (f"{miner}/",),
        ).fetchone()
        return int(total) - int(done), int(done)

    def put_mined(
        self,
        content: str,
        miner: str,
        found: Iterable[Descriptor],
        said: Iterable[Quote],
        names: Iterable[tuple[str, str, int]] = (),
    ) -> None:
        """Replace the descriptors, quotes and names ((name, type, mentions)) of `content`
        (inside a transaction), if it is still stored with entities."""
        row = self._conn.execute(
            "SELECT model FROM enriched WHERE content_hash=?", (content,)
        ).fetchone()
        if row is None:
            return  # removed (or re-read) while it was being mined
        self._conn.execute("DELETE FROM descriptors WHERE content_hash=?", (content,))
        self._conn.executemany(
            'INSERT OR IGNORE INTO descriptors(content_hash, start, "end", kind, key, name) '
            "VALUES (?,?,?,?,?,?)",
            [(content, d.start, d.end, d.kind, d.key, d.name) for d in found],
        )
        self._conn.execute("DELETE FROM quotes WHERE content_hash=?", (content,))
        self._conn.executemany(
            'INSERT OR IGNORE INTO quotes(content_hash, start, "end", speaker, mention, '
            "attribution) VALUES (?,?,?,?,?,?)",
            [(content, q.start, q.end, q.speaker, q.mention, q.attribution) for q in said],
        )
        self._conn.execute("DELETE FROM people WHERE content_hash=?", (content,))
        self._conn.executemany(
            "INSERT OR IGNORE INTO people(content_hash, name, type, mentions) VALUES (?,?,?,?)",
            [(content, name, kind, n) for name, kind, n in names],
        )
        self._conn.execute(
            "INSERT OR REPLACE INTO described(content_hash, version) VALUES (?, ?)",
            (content, f"{miner}/{row[0]}"),
        )
        self.set_meta("names_dirty", "1")

    def descriptors(self, doc_id: str) -> list[Descriptor]:
        """The descriptors of the article stored under `doc_id`, in text order."""
        rows = self._conn.execute(
            'SELECT d.start, d."end", d.key, d.name, d.kind FROM articles a JOIN descriptors d '
            'ON d.content_hash=a.content_hash WHERE a.doc_id=? ORDER BY d.start, d."end"',
            (doc_id,),
        )
        return [Descriptor(int(a), int(b), str(c), str(d), str(e)) for a, b, c, d, e in rows]

    def quotes(self, doc_id: str) -> list[Quote]:
        """The quotes of the article stored under `doc_id`, in text order."""
        rows = self._conn.execute(
            'SELECT q.start, q."end", q.speaker, q.mention, q.attribution, '
            'substr(t.text, q.start + 1, q."end" - q.start) '
            "FROM articles a JOIN quotes q ON q.content_hash=a.content_hash "
            "JOIN texts t ON t.content_hash=a.content_hash WHERE a.doc_id=? ORDER BY q.start",
            (doc_id,),
        )
        return [
            Quote(int(s), int(e), str(said), sp, str(m), str(k)) for s, e, sp, m, k, said in rows
        ]

    def iter_quotes(self) -> Iterator[tuple[str, str, Quote]]:
        """(doc_id, published, quote) of every quote in the archive, once per stored text
        (under its canonical doc_id), newest first, then in text order."""
        rows = self._conn.execute(
            'SELECT t.doc_id, t.published, q.start, q."end", q.speaker, q.mention, '
            'q.attribution, substr(t.text, q.start + 1, q."end" - q.start) FROM quotes q '
            "JOIN texts t ON t.content_hash=q.content_hash "
            "ORDER BY t.published DESC, t.doc_id, q.start"
        )
        for doc, published, s, e, sp, m, k, said in rows:
            yield str(doc), str(published), Quote(int(s), int(e), str(said), sp, str(m), str(k))

    def people(
        self, kind: str | None = None, words: Sequence[str] = ()
    ) -> list[tuple[str, str, int, int, str, str]]:
        """(name, type, mentions, articles, first, last) of every name of the archive of
        `kind` (person, org, place; any when None) whose name holds each of `words`
        (case aside), most articles first; first/last are "" when no article is dated. A
        name is of the type most of its articles give it ("Labour" tagged a person in some
        articles is the organisation of many more), its counts summed over all of them."""
        where: list[str] = []
        params: list[str] = []
        for word in words:
            where.append("p.name LIKE ?")
            params.append(f"%{word}%")
        rows = self._conn.execute(
            "SELECT p.name, p.type, SUM(p.mentions), COUNT(*), "
            "COALESCE(MIN(NULLIF(t.published, '')), ''), "
            "COALESCE(MAX(NULLIF(t.published, '')), '') "
            "FROM people p JOIN texts t ON t.content_hash=p.content_hash "
            + (f"WHERE {' AND '.join(where)} " if where else "")
            + "GROUP BY p.name, p.type",
            params,
        )
        merged: dict[str, list[tuple[str, int, int, str, str]]] = {}
        for name, typ, mentions, articles, first, last in rows:
            merged.setdefault(str(name), []).append(
                (str(typ), int(mentions), int(articles), str(first), str(last))
            )
        out: list[tuple[str, str, int, int, str, str]] = []
        for name, parts in merged.items():
            typ = max(parts, key=lambda p: (p[2], p[1], p[0]))[0]
            if kind is not None and typ != kind:
                continue
            dated = [p for p in parts if p[3]]
            out.append(
                (
                    name,
                    typ,
                    sum(p[1] for p in parts),
                    sum(p[2] for p in parts),  # an article naming it as two types counts twice
                    min((p[3] for p in dated), default=""),
                    max((p[4] for p in dated), default=""),
                )
            )
        out.sort(key=lambda r: (-r[3], -r[2], r[0]))
        return out

    def descriptor_counts(self) -> list[tuple[str, str, int]]:
        """(key, name, texts that give the key to the name) over the whole archive (none for
        an index of an older Newsdesk opened on a read-only file system, which could not add
        the table)."""
        try:
            rows = self._conn.execute(
                "SELECT key, name, COUNT(DISTINCT content_hash) FROM descriptors GROUP BY key, name"
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return []
        return [(str(k), str(n), int(c)) for k, n, c in rows]

    @property
    def names_stamp(self) -> str:
        """Moves when a mining run has written descriptors (`stamp_names`): searchers then
        rebuild their name table. (Removing texts moves the generation instead.)"""
        return self.get_meta("names_stamp") or "0"

    def stamp_names(self) -> None:
        """After a mining run: move the names stamp if descriptors were written since it last
        moved (also by a run killed before it could stamp)."""
        if self.get_meta("names_dirty"):
            self.set_meta("names_stamp", str(int(self.names_stamp) + 1))
            self._conn.execute("DELETE FROM meta WHERE key='names_dirty'")

    def _text_entities(self, content: str) -> list[Entity]:
        rows = self._conn.execute(
            'SELECT start, "end", label, text FROM entities WHERE content_hash=? '
            'ORDER BY start, "end"',
            (content,),
        )
        return [Entity(int(a), int(b), str(c), str(d)) for a, b, c, d in rows]

    # ---------------------------------------------------------------- sentence vectors
    def without_sentences(self, model: str, limit: int) -> list[tuple[str, str]]:
        """(content hash, text) of up to `limit` stored texts with no sentence vectors from
        the embedding model `model`."""
        rows = self._conn.execute(
            "SELECT t.content_hash, t.text FROM texts t LEFT JOIN sentences s "
            "ON s.content_hash=t.content_hash WHERE s.model IS NULL OR s.model != ? "
            "ORDER BY t.content_hash LIMIT ?",
            (split_key(model), limit),
        )
        return [(str(a), str(b)) for a, b in rows]

    def sentence_progress(self, model: str) -> tuple[int, int]:
        """(to do, done): stored texts without sentence vectors from `model`, and with them."""
        done, total = self._conn.execute(
            "SELECT COUNT(s.content_hash), COUNT(*) FROM texts t LEFT JOIN sentences s "
            "ON s.content_hash=t.content_hash AND s.model=?",
            (split_key(model),),
        ).fetchone()
        return int(total) - int(done), int(done)

    def put_sentences(self, content: str, model: str, sentences: SentenceVectors) -> None:
        """Store the sentence vectors of `content` (inside a transaction), if it is still
        stored. Spans are kept as int32 pairs, vectors as float16 rows."""
        if not self.has_text(content):
            return
        spans = np.asarray(sentences.spans, dtype="<i4").reshape(-1, 2)
        vectors = np.asarray(sentences.vectors, dtype="<f2")
        self._conn.execute(
            "INSERT OR REPLACE INTO sentences(content_hash, model, spans, vectors) "
            "VALUES (?,?,?,?)",
            (content, split_key(model), spans.tobytes(), vectors.tobytes()),
        )

    def sentences(self, doc_ids: Sequence[str], model: str) -> dict[str, SentenceVectors]:
        """Sentence vectors from `model` of the articles stored under `doc_ids` (aliases share
        their canonical's); an article without them is left out. Offsets point into
        `Ledger.article(doc_id).text`."""
        out: dict[str, SentenceVectors] = {}
        wanted = list(dict.fromkeys(doc_ids))
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._conn.execute(
                "SELECT a.doc_id, s.spans, s.vectors FROM articles a JOIN sentences s "
                f"ON s.content_hash=a.content_hash WHERE a.doc_id IN ({marks}) AND s.model=?",
                (*part, split_key(model)),
            )
            for doc_id, spans, vectors in rows:
                pairs = np.frombuffer(spans, dtype="<i4").reshape(-1, 2)
                n = len(pairs)
                vecs = np.frombuffer(vectors, dtype="<f2")
                out[str(doc_id)] = SentenceVectors(pairs, vecs.reshape(n, -1) if n else vecs)
        return out

    def sample_chunk_ids(self, n: int) -> list[str]:
        rows = self._conn.execute("SELECT chunk_id FROM chunks ORDER BY random() LIMIT ?", (n,))
        return [str(r[0]) for r in rows]

    def integrity(self) -> str:
        """'' if SQLite finds the database sound, else what its quick check reports."""
        rows = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check")]
        return "" if rows == ["ok"] else "; ".join(rows[:5])

    def pending_count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0])

    def add_pending(self, chunk_ids: Iterable[str], op: str) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO pending(chunk_id, op) VALUES (?, ?)",
            [(cid, op) for cid in chunk_ids],
        )

    def pending(self, op: str) -> list[str]:
        rows = self._conn.execute("SELECT chunk_id FROM pending WHERE op=?", (op,))
        return [str(r[0]) for r in rows]

    def clear_pending(self, op: str, chunk_ids: Iterable[str] | None = None) -> None:
        if chunk_ids is None:
            self._conn.execute("DELETE FROM pending WHERE op=?", (op,))
        else:
            self._conn.executemany(
                "DELETE FROM pending WHERE chunk_id=? AND op=?", [(c, op) for c in chunk_ids]
            )

    def known_chunk_ids(self, chunk_ids: list[str]) -> set[str]:
        return set(self.get_chunks(chunk_ids))

    def count_articles(self) -> int:
        """Stored articles, aliases included."""
        return int(self._conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def all_article_hashes(self) -> dict[str, str]:
        """doc_id -> content hash of every stored article."""
        rows = self._conn.execute("SELECT doc_id, content_hash FROM articles")
        return {str(a): str(b) for a, b in rows}

    def chunk_table(self) -> list[tuple[str, str, str, str, str]]:
        """(chunk_id, canonical doc_id, published, source, category) of every chunk."""
        rows = self._conn.execute(
            "SELECT c.chunk_id, t.doc_id, t.published, t.source, t.category "
            "FROM chunks c JOIN texts t ON c.content_hash=t.content_hash ORDER BY c.chunk_id"
        )
        return [(str(a), str(b), str(c), str(d), str(e)) for a, b, c, d, e in rows]

    def aliases_of(self, doc_ids: list[str]) -> dict[str, list[str]]:
        """canonical doc_id -> its aliases, for the given canonical doc_ids."""
        out: dict[str, list[str]] = {d: [] for d in doc_ids}
        for i in range(0, len(doc_ids), 500):
            part = doc_ids[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._conn.execute(
                "SELECT t.doc_id, a.doc_id FROM texts t JOIN articles a "
                f"ON a.content_hash=t.content_hash WHERE t.doc_id IN ({marks}) "
                "AND a.doc_id != t.doc_id ORDER BY a.doc_id",
                part,
            )
            for canon, alias in rows:
                out[str(canon)].append(str(alias))
        return out

    def all_chunk_ids(self) -> set[str]:
        """The id of every stored chunk."""
        return {str(r[0]) for r in self._conn.execute("SELECT chunk_id FROM chunks")}

    def date_span(self) -> DateSpan:
        """The oldest and newest publication dates, and how many articles are dated."""
        earliest, latest, dated, articles = self._conn.execute(
            "SELECT MIN(NULLIF(published, '')), MAX(NULLIF(published, '')), "
            "COUNT(NULLIF(published, '')), COUNT(*) FROM texts"
        ).fetchone()
        return DateSpan(
            earliest=_day(earliest), latest=_day(latest), dated=int(dated), articles=int(articles)
        )


def _day(published: str | None) -> date | None:
    """The date of an ISO 8601 publication stamp, None for none or one that does not parse."""
    if not published:
        return None
    try:
        return date.fromisoformat(str(published)[:10])
    except ValueError:
        return None
