"""The vector store: one Chroma collection of chunk embeddings, embedded or on a server.

Chroma types stay in this module; callers speak in ids, arrays and plain dicts.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from newsdesk.core.errors import ConfigError, IndexUnavailableError, IndexWriteError, StoreError
from newsdesk.core.types import Filters
from newsdesk.store import schema
from newsdesk.store.ledger import read_only_filesystem

log = logging.getLogger(__name__)

_WRITE_BATCH = 2000
_WRITES = ("upsert", "update", "delete", "open")
# A write that fails with less than this free on the store's disk is reported as a full disk
# (Chroma's own message then is only e.g. "Error in compaction: Failed to apply logs").
_LOW_SPACE = 64 * 1024 * 1024


@dataclass(frozen=True)
class VectorHit:
    chunk_id: str
    similarity: float  # cosine similarity in [-1, 1]


def _client(index_dir: Path, chroma_url: str) -> Any:
    import chromadb

    settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"chroma url must look like http://host:port, got {chroma_url!r}")
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=settings,
            )
        except Exception as exc:  # chromadb raises ValueError/ConnectionError/httpx errors
            raise IndexUnavailableError(f"Chroma server at {chroma_url} is unreachable") from exc
    path = Path(index_dir) / schema.CHROMA_DIR
    if path.is_dir() and read_only_filesystem(path):
        path = _private_copy(path)
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        full = _disk_full(path, "open")
        if full is not None:
            raise full from exc
        raise StoreError(f"cannot open the Chroma store at {path}: {exc}") from exc


def _private_copy(path: Path) -> Path:
    """A temporary copy of a read-only embedded store (Chroma cannot open one in place: it
    writes on open). Nothing can change the original, so the copy stays exact."""
    copy = Path(tempfile.mkdtemp(prefix="newsdesk-chroma-")) / schema.CHROMA_DIR
    try:
        shutil.copytree(path, copy)
    except OSError as exc:
        shutil.rmtree(copy.parent, ignore_errors=True)
        raise StoreError(f"cannot copy the read-only Chroma store at {path}: {exc}") from exc
    atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)
    log.info("%s is read-only: searching a private copy in %s", path, copy)
    return copy


def _free_bytes(path: Path) -> int | None:
    """Free space on the disk holding `path` (or its nearest existing parent)."""
    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def _disk_full(path: Path, what: str) -> IndexWriteError | None:
    """An IndexWriteError naming the full disk, when the disk holding `path` is nearly full."""
    free = _free_bytes(path)
    if free is None or free >= _LOW_SPACE:
        return None
    return IndexWriteError(
        f"cannot write the vector store at {path} ({what}): its disk is full "
        f"({free:,} bytes free); free some space or move the index, then re-run"
    )


def _where(filters: Filters) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if filters.since is not None:
        clauses.append({schema.META_DAY: {"$gte": schema.day_number(filters.since.isoformat())}})
    if filters.until is not None:
        clauses.append({schema.META_DAY: {"$lte": schema.day_number(filters.until.isoformat())}})
    if filters.sources:
        clauses.append({schema.META_SOURCE: {"$in": list(filters.sources)}})
    if filters.categories:
        clauses.append({schema.META_CATEGORY: {"$in": list(filters.categories)}})
    if filters.doc_ids is not None:  # no article: a doc_id no article has
        clauses.append({schema.META_DOC_ID: {"$in": sorted(filters.doc_ids) or [""]}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class VectorStore:
    """The chunk collection of one index (named after the index id, so indexes can share a
    Chroma server without mixing)."""

    def __init__(self, index_dir: Path, chroma_url: str, index_id: str) -> None:
        self._index_dir = index_dir
        self._url = chroma_url
        self._name = f"{schema.COLLECTION}-{index_id}"
        self._client: Any = None
        self._collection: Any = None

    def _coll(self) -> Any:
        if self._collection is None:
            if self._client is None:
                self._client = _client(self._index_dir, self._url)
            try:
                self._collection = self._client.get_or_create_collection(
                    self._name,
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            except Exception as exc:
                raise self._translate(exc, "open") from exc
        return self._collection

    def reopen(self) -> None:
        """Forget the open embedded store so the next call reads it afresh from disk.

        An embedded Chroma keeps its vector index in memory and does not see what another
        process (an ingest) wrote since; readers call this when the ledger says the index
        changed. A Chroma server needs nothing: every client sees its writes.
        """
        if self._url or self._client is None:
            return
        client, self._client, self._collection = self._client, None, None
        try:
            client.close()
        except Exception as exc:  # closing is best effort; the next open reports real trouble
            log.warning("closing the Chroma store failed: %s", exc)

    def reset(self) -> None:
        """Start the collection afresh, empty (for a repair that re-embeds everything). On a
        server the collection is dropped; an embedded store whose files are damaged beyond
        that is moved aside and deleted, since the ledger holds all it is made from."""
        try:
            self._coll()
            self._client.delete_collection(self._name)
            self._collection = None
            return
        except Exception as exc:
            if self._url:
                raise self._translate(exc, "reset") from exc
            log.warning("dropping the damaged vector store: %s", " ".join(str(exc).split()))
        self._discard()
        folder = Path(self._index_dir) / schema.CHROMA_DIR
        aside = folder.with_name(f"{schema.CHROMA_DIR}.damaged-{os.getpid()}")
        if folder.exists():
            folder.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)

    def _discard(self) -> None:
        """Drop the embedded store after a failed write. Chroma 1.5 hangs on the next call to
        a store whose write failed on a full disk (even once space is freed), so the next call
        in this process opens a fresh one; the broken one is abandoned, not stopped."""
        client, self._client, self._collection = self._client, None, None
        if self._url or client is None:
            return
        try:
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(client._identifier, None)
        except (ImportError, AttributeError):  # another Chroma version: nothing cached there
            pass

    def _translate(self, exc: Exception, what: str) -> StoreError:
        text = " ".join(str(exc).split())  # one line
        if self._url and any(
            s in text.lower() for s in ("connect", "refused", "timed out", "unreachable")
        ):
            self._client = self._collection = None  # reconnect next time: it may come back
            return IndexUnavailableError(
                f"index unavailable: Chroma server at {self._url} did not answer ({what})"
            )
        lower = text.lower()
        where = self._url or Path(self._index_dir) / schema.CHROMA_DIR
        written: IndexWriteError | None = None
        if "readonly" in lower or "read-only" in lower:
            written = IndexWriteError(f"cannot write the vector store at {where} ({what}): {text}")
        elif ("disk" in lower and "full" in lower) or "no space" in lower:
            written = IndexWriteError(
                f"disk full while writing the vector store at {where} ({what}); "
                "free some space or move the index, then re-run"
            )
        elif not self._url and what in _WRITES:
            written = _disk_full(Path(self._index_dir) / schema.CHROMA_DIR, what)
        if written is not None:
            self._discard()
            return written
        return StoreError(f"vector store failed to {what}: {text}")

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        coll = self._coll()
        try:
            return getattr(coll, fn)(*args, **kwargs)
        except Exception as exc:
            raise self._translate(exc, what) from exc

    def count(self) -> int:
        return int(self._call("count", "count"))

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        """Vectors and their filter metadata only: chunk texts live in the ledger, and
        sending them too made Chroma build a full-text index nobody reads (it tripled the
        write time: 8.6 s against 2.7 s for the BBC archive's 7,095 chunks)."""
        for i in range(0, len(ids), _WRITE_BATCH):
            j = i + _WRITE_BATCH
            self._call(
                "upsert",
                "upsert",
                ids=list(ids[i:j]),
                embeddings=vectors[i:j],
                metadatas=list(metadatas[i:j]),
            )

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        if ids:
            self._call("update", "update", ids=list(ids), metadatas=list(metadatas))

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), _WRITE_BATCH):
            self._call("delete", "delete", ids=list(ids[i : i + _WRITE_BATCH]))

    def all_ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        while True:
            got = self._call("list", "get", include=[], limit=10000, offset=offset)
            out.update(got["ids"])
            if len(got["ids"]) < 10000:
                return out
            offset += 10000

    def query(self, vector: np.ndarray, n: int, filters: Filters) -> list[VectorHit]:
        # Chroma 1.5 returns what it has when asked for more (even from an empty
        # collection), so no count() first: it would be a second round trip per query.
        got = self._call(
            "query",
            "query",
            query_embeddings=[vector],
            n_results=n,
            where=_where(filters),
            include=["distances"],
        )
        ids, dists = got["ids"][0], got["distances"][0]
        return [VectorHit(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True)]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (ids not in the store are left out)."""
        if not ids:
            return {}
        got = self._call("get", "get", ids=list(ids), include=["embeddings"])
        return {
            cid: np.asarray(vec, dtype=np.float32)
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True)
        }
