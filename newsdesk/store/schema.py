"""The one definition of the index that ingest writes and the retriever reads.

An index directory holds:
  ledger.sqlite  articles, texts, chunks, aliases and the index's identity (the source of truth)
  chroma/        the embedded Chroma store (absent when a Chroma server is used)
  bm25/          the persisted BM25 index, stamped with the ledger generation it was built from
  uploads/       files added in the UI's Sources view, each ingested from here as its own origin
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import date
from typing import Any

from newsdesk.core.types import Article, Chunk

SCHEMA_VERSION = 1
COLLECTION = "newsdesk_chunks"
LEDGER_FILE = "ledger.sqlite"
CHROMA_DIR = "chroma"
BM25_DIR = "bm25"
UPLOADS_DIR = "uploads"
TOKENIZER = "cl100k_base"

# Chunk metadata stored in Chroma (and mirrored in the ledger); see `chunk_metadata`.
META_DOC_ID = "doc_id"
META_POSITION = "position"
META_START = "start"
META_END = "end"
META_TITLE = "title"
META_SOURCE = "source"
META_CATEGORY = "category"
META_PUBLISHED = "published"  # ISO date string, absent when unknown
META_DAY = "day"  # published date as an int (days since 1970-01-01), absent when unknown

_EPOCH = date(1970, 1, 1)


def content_hash(title: str, text: str) -> str:
    """Identity of an article's content: exact duplicates share it whatever their path."""
    norm = unicodedata.normalize("NFC", f"{title.strip()}\n{text.strip()}")
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def chunk_id(content: str, position: int) -> str:
    """Stable, content-derived id: re-ingesting the same text upserts the same ids."""
    return f"{content[:32]}-{position:04d}"


def day_number(iso: str) -> int | None:
    """`2005-03-01` -> days since the epoch, for range filters on numbers."""
    if not iso:
        return None
    return (date.fromisoformat(iso[:10]) - _EPOCH).days


def embedding_text(title: str, text: str) -> str:
    """What is embedded and BM25-indexed for a chunk: the title gives every chunk its context."""
    return f"{title}\n{text}" if title else text


def chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    """The Chroma metadata of `chunk` of `article` (its canonical article: an alias's chunks
    are its canonical's, and are rewritten when an alias is promoted)."""
    meta: dict[str, Any] = {
        META_DOC_ID: article.doc_id,
        META_POSITION: chunk.position,
        META_START: chunk.start,
        META_END: chunk.end,
        META_TITLE: article.title,
        META_SOURCE: article.source,
        META_CATEGORY: article.category,
    }
    day = day_number(article.published)
    if day is not None:
        meta[META_PUBLISHED] = article.published
        meta[META_DAY] = day
    return meta
