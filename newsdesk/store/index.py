"""An index: the ledger, the vector store, and the one protocol that writes them together.

`check_identity` and `check_chunking` verify the index's identity (embedding model, dimension,
chunking) against the settings; `Index.recover` repairs the vector store from the ledger's
intent log after a crash.

Every write goes through `store`, `add_aliases` or `remove`, and each follows one protocol, so
that a process killed at any instant (kill -9, full disk) leaves an index that `recover` makes
whole on the next open:

1. Vector ids about to be written are logged as pending adds (committed) before Chroma is
   touched; the vectors are then upserted.
2. One ledger transaction makes the write count: texts, chunks and article rows, the release of
   texts no article points at any more, and the clearing of the pending adds. It also logs the
   vector ids to delete as pending deletes, and bumps the generation if chunks came or went
   or an alias was promoted (readers and the persisted BM25 compare generations to know they
   are stale; a new alias alone changes nothing they cache).
3. After that commit, the doomed vectors are deleted from Chroma and their pending deletes
   cleared.

When a canonical article goes (removed, or now another text) and aliases of its text remain,
the first alias is promoted: the ledger's text row takes its metadata, and the Chroma metadata
of the shared chunks is rewritten to name it. The rewrite happens inside the transaction of
step 2, before its commit: if that commit never happens, the old canonical still stands in the
ledger and the next ingest redoes the same promotion, rewriting the metadata again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newsdesk.core.config import Settings
from newsdesk.core.errors import ConfigError, EmbeddingModelMismatchError
from newsdesk.core.types import Article, Chunk
from newsdesk.store import schema
from newsdesk.store.ledger import Ledger
from newsdesk.store.vectors import VectorStore

log = logging.getLogger(__name__)

OP_ADD = "add"
OP_DELETE = "delete"


@dataclass(frozen=True)
class NewText:
    """An article whose text is not stored yet, with that text's chunks."""

    article: Article
    content: str  # schema.content_hash of the article
    chunks: list[Chunk]
    origin: str  # where it was ingested from (a folder or URL), for pruning
    file: str  # its file relative to the origin


@dataclass(frozen=True)
class Alias:
    """An article whose text is already stored (by an earlier write or the same one) under
    another doc_id: it gets its own article row and shares that text's chunks."""

    article: Article
    content: str
    origin: str
    file: str


@dataclass(frozen=True)
class Written:
    """What one write did to the chunk set."""

    chunks_added: int = 0
    chunks_removed: int = 0


@dataclass
class _Changes:
    """Collected inside a write's transaction."""

    doomed: list[str] = field(default_factory=list)  # chunk ids to delete from Chroma
    promoted: bool = False  # an alias became canonical (chunk metadata changed)


@dataclass
class Index:
    dir: Path
    ledger: Ledger
    vectors: VectorStore

    @classmethod
    def open(cls, settings: Settings, *, create: bool) -> Index:
        directory = Path(settings.index)
        ledger = Ledger.open(directory, create=create)
        index_id = ledger.get_meta("index_id") or ""
        vectors = VectorStore(directory, settings.chroma_url, index_id)
        return cls(directory, ledger, vectors)

    def close(self) -> None:
        self.ledger.close()

    # ------------------------------------------------------------ identity
    def check_identity(self, model: str, dimension: int, settings: Settings) -> None:
        """Raise if the index was built with another model or chunking than `settings`."""
        stored = self.ledger.get_meta("embedding_model")
        if stored is not None and stored != model:
            raise EmbeddingModelMismatchError(
                f"the index at {self.dir} was built with embedding model {stored!r}, "
                f"but {model!r} is configured; use the same model or a new --index"
            )
        stored_dim = self.ledger.get_meta("embedding_dim")
        if stored_dim is not None and int(stored_dim) != dimension:
            raise EmbeddingModelMismatchError(
                f"the index at {self.dir} holds {stored_dim}-dimensional vectors, "
                f"the configured model makes {dimension}"
            )

    def check_chunking(self, settings: Settings) -> None:
        stored = self.ledger.get_meta("chunking")
        wanted = f"{settings.chunk_tokens}/{settings.chunk_overlap}"
        if stored is not None and stored != wanted:
            raise ConfigError(
                f"the index at {self.dir} was chunked as tokens/overlap={stored}, the settings "
                f"say {wanted}; use the same chunking or a new --index"
            )

    def record_identity(self, model: str, dimension: int, settings: Settings) -> None:
        with self.ledger.transaction():
            self.ledger.set_meta("embedding_model", model)
            self.ledger.set_meta("embedding_dim", str(dimension))
            self.ledger.set_meta("chunking", f"{settings.chunk_tokens}/{settings.chunk_overlap}")

    def record_example_questions(self, questions: Sequence[str]) -> None:
        with self.ledger.transaction():
            self.ledger.set_meta("example_questions", json.dumps(list(questions)))

    # ------------------------------------------------------------ writes
    def store(
        self, texts: Sequence[NewText], vectors: np.ndarray, aliases: Sequence[Alias] = ()
    ) -> Written:
        """Store new texts, their chunks and the chunks' `vectors` (one row per chunk, in
        order), then `aliases` (whose texts may be among `texts`). Articles that pointed at
        another text before release it."""
        ids = [c.chunk_id for t in texts for c in t.chunks]
        if len(vectors) != len(ids):
            raise ValueError(
                f"store() needs one vector per chunk: {len(ids)} chunks, {len(vectors)} vectors"
            )
        metas = [schema.chunk_metadata(t.article, c) for t in texts for c in t.chunks]
        with self.ledger.transaction():
            self.ledger.add_pending(ids, OP_ADD)
        self.vectors.upsert(ids, vectors, metas)
        changes = _Changes()
        with self.ledger.transaction():
            for t in texts:
                self.ledger.put_text(t.article, t.content, t.chunks)
                self._point(t.article, t.content, t.origin, t.file, changes)
            for a in aliases:
                self._point_alias(a, changes)
            self.ledger.clear_pending(OP_ADD, ids)
            self._commit(changes, bump=True)
        self._finish_deletes(changes.doomed)
        return Written(len(ids), len(changes.doomed))

    def add_aliases(self, aliases: Sequence[Alias]) -> Written:
        """Record doc_ids whose texts are stored; texts they pointed at before are released."""
        changes = _Changes()
        with self.ledger.transaction():
            for a in aliases:
                self._point_alias(a, changes)
            self._commit(changes)
        self._finish_deletes(changes.doomed)
        return Written(0, len(changes.doomed))

    def remove(self, doc_id: str) -> Written:
        """Forget the article `doc_id`; its text goes too unless an alias still shares it."""
        changes = _Changes()
        with self.ledger.transaction():
            old = self.ledger.article_hash(doc_id)
            self.ledger.delete_article(doc_id)
            self._release(old, changes)
            self._commit(changes)
        self._finish_deletes(changes.doomed)
        return Written(0, len(changes.doomed))

    def _point_alias(self, alias: Alias, changes: _Changes) -> None:
        if not self.ledger.has_text(alias.content):
            raise ValueError(f"alias {alias.article.doc_id!r} names a text that is not stored")
        self._point(alias.article, alias.content, alias.origin, alias.file, changes)

    def _point(
        self, article: Article, content: str, origin: str, file: str, changes: _Changes
    ) -> None:
        """Point `article` at the stored text `content`, releasing the text it had."""
        old = self.ledger.article_hash(article.doc_id)
        self.ledger.put_article(article, content, origin, file)
        if old != content:
            self._release(old, changes)

    def _release(self, old: str | None, changes: _Changes) -> None:
        """`old` lost an article: drop it if nothing points at it, else promote an alias."""
        if old is None:
            return
        doomed, new_canonical = self.ledger.release(old)
        changes.doomed += doomed
        if new_canonical is None:
            return
        changes.promoted = True
        article = self.ledger.article(new_canonical)
        ids = self.ledger.chunk_ids(old)
        if article is None or not ids:
            return
        stored = self.ledger.get_chunks(ids)
        metas = []
        for cid in ids:
            c = stored[cid]
            chunk = Chunk(cid, new_canonical, c.position, c.start, c.end, c.text, 0)
            metas.append(schema.chunk_metadata(article, chunk))
        self.vectors.update_metadata(ids, metas)

    def _commit(self, changes: _Changes, *, bump: bool = False) -> None:
        """The end of a write's transaction: log its deletes as intents, and bump the
        generation if readers must reload (chunks added or removed, canonicals changed)."""
        if changes.doomed:
            self.ledger.add_pending(changes.doomed, OP_DELETE)
        if bump or changes.doomed or changes.promoted:
            self.ledger.bump_generation()

    def _finish_deletes(self, doomed: list[str]) -> None:
        """After the commit that logged them: delete the vectors, then clear the intents."""
        if doomed:
            self.vectors.delete(doomed)
            with self.ledger.transaction():
                self.ledger.clear_pending(OP_DELETE, doomed)

    # ------------------------------------------------------------ crash repair
    def recover(self) -> int:
        """Finish or undo vector-store writes that a crash interrupted. Returns ids touched.

        Writes follow the intent log of the module docstring: chunk ids are recorded as
        pending *before* the vector store is touched, and pending adds are cleared in the same
        ledger transaction that makes the article count as stored. So after a crash, a pending
        "add" whose chunk the ledger does not know is an orphan in the vector store, and a
        pending "delete" was not finished.
        """
        adds = self.ledger.pending(OP_ADD)
        deletes = self.ledger.pending(OP_DELETE)
        if not adds and not deletes:
            return 0
        known = self.ledger.known_chunk_ids(adds)
        orphans = [c for c in adds if c not in known]
        doomed = [c for c in deletes if c not in known] + orphans
        if doomed:
            self.vectors.delete(doomed)
        with self.ledger.transaction():
            self.ledger.clear_pending(OP_ADD)
            self.ledger.clear_pending(OP_DELETE)
        log.info("recovered from an interrupted ingest: %d vector ids removed", len(doomed))
        return len(doomed)
