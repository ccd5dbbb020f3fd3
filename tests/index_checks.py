"""Checks on an index's content for tests that write one: what it holds, in comparable form,
and texts made ready for `Index.store` as ingest would make them."""

from __future__ import annotations

from pathlib import Path

from helpers import make_settings

from newsdesk.core.types import Article
from newsdesk.ingest.chunking import chunk_text
from newsdesk.store import lexical, schema
from newsdesk.store.index import Index, NewText

ARTICLE = """Harbour crane collapse halts container traffic

A crane at the east harbour collapsed on Monday night, halting container traffic for two days.
Nobody was hurt, the port authority said, because the night shift had just ended.
Engineers blamed a corroded bolt in the crane's base. The authority will inspect its other cranes.
"""


def snapshot(index: Path, **kw: object) -> dict[str, object]:
    """Everything that defines an index's content, in comparable form."""
    settings = make_settings(index, **kw)
    idx = Index.open(settings, create=False)
    try:
        led = idx.ledger
        articles = sorted(led.all_article_hashes().items())
        chunks = sorted(c.chunk_id for c in led.iter_chunks())
        vector_ids = sorted(idx.vectors.all_ids())
        bm25 = lexical.load_or_build(led, index)
        return {
            "articles": articles,
            "chunks": chunks,
            "vectors": vector_ids,
            "bm25": sorted(bm25.chunk_ids),
            "pending": led.pending("add") + led.pending("delete"),
        }
    finally:
        idx.close()


def assert_consistent(snap: dict[str, object]) -> None:
    assert snap["chunks"] == snap["vectors"], "ledger and Chroma disagree"
    assert snap["chunks"] == snap["bm25"], "ledger and BM25 disagree"
    assert snap["pending"] == []


def new_text(article: Article, origin: str = "test") -> NewText:
    """`article` chunked with the default settings, as ingest would hand it to the index."""
    content = schema.content_hash(article.title, article.text)
    return NewText(
        article,
        content,
        chunk_text(content, article.text, max_tokens=200, overlap=40),
        origin,
        article.doc_id,
    )


def vectors_of(embedder, texts: list[NewText]):  # type: ignore[no-untyped-def]
    return embedder.embed_documents(
        [schema.embedding_text(t.article.title, c.text) for t in texts for c in t.chunks]
    )


def chroma_metadata(idx: Index, ids: list[str]) -> dict[str, dict[str, object]]:
    """What Chroma holds as each chunk's metadata (read straight from the collection)."""
    got = idx.vectors._coll().get(ids=ids, include=["metadatas"])
    return dict(zip(got["ids"], got["metadatas"], strict=True))
