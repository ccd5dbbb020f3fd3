"""The vector store: one Chroma collection of chunk embeddings, embedded or on a server.

Chroma types stay in this module; callers speak in ids, arrays and plain dicts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from newsdesk import schema
from newsdesk.errors import ConfigError, IndexUnavailableError, IndexWriteError, StoreError
from newsdesk.types import Filters

log = logging.getLogger(__name__)

_WRITE_BATCH = 2000


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
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        raise StoreError(f"cannot open the Chroma store at {path}: {exc}") from exc


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
        self._collection: Any = None

    def _coll(self) -> Any:
        if self._collection is None:
            client = _client(self._index_dir, self._url)
            try:
                self._collection = client.get_or_create_collection(
                    self._name,
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            except Exception as exc:
                raise self._translate(exc, "open") from exc
        return self._collection

    def _translate(self, exc: Exception, what: str) -> StoreError:
        text = str(exc)
        if self._url and any(
            s in text.lower() for s in ("connect", "refused", "timed out", "unreachable")
        ):
            self._collection = None  # reconnect next time: the server may come back
            return IndexUnavailableError(
                f"index unavailable: Chroma server at {self._url} did not answer ({what})"
            )
        if "readonly" in text.lower() or "read-only" in text.lower():
            return IndexWriteError(f"cannot write the vector store ({what}): {text}")
        if "disk" in text.lower() and "full" in text.lower():
            return IndexWriteError(f"disk full while writing the vector store ({what})")
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
        documents: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        for i in range(0, len(ids), _WRITE_BATCH):
            j = i + _WRITE_BATCH
            self._call(
                "upsert",
                "upsert",
                ids=list(ids[i:j]),
                embeddings=vectors[i:j],
                documents=list(documents[i:j]),
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
        total = self.count()
        if total == 0:
            return []
        got = self._call(
            "query",
            "query",
            query_embeddings=[vector],
            n_results=min(n, total),
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
