"""Opening an index: the ledger, the vector store, and the checks that keep them honest.

`Index.open` verifies the index's identity (embedding model, dimension, chunking) against the
settings and repairs the vector store from the ledger's intent log after a crash.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from newsdesk.core.config import Settings
from newsdesk.core.errors import ConfigError, EmbeddingModelMismatchError
from newsdesk.store.ledger import Ledger
from newsdesk.store.vectors import VectorStore

log = logging.getLogger(__name__)

OP_ADD = "add"
OP_DELETE = "delete"


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

    # ------------------------------------------------------------ crash repair
    def recover(self) -> int:
        """Finish or undo vector-store writes that a crash interrupted. Returns ids touched.

        Writes follow an intent log: chunk ids are recorded as pending *before* the vector
        store is touched, and cleared in the same ledger transaction that makes the article
        count as stored. So after a crash, a pending "add" whose chunk the ledger does not know
        is an orphan in the vector store, and a pending "delete" was not finished.
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
