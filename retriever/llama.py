"""llama-index adapters: Newsdesk retrieval as `BaseRetriever`s, so it composes with
llama-index query engines, fusion retrievers and evaluators.

`NewsdeskRetriever(searcher, mode=...)` returns one node per passage, articles in rank order;
the modes `bm25` and `dense` are the two halves that `hybrid` fuses.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from newsdesk.core.types import MODES, ArticleHit, Filters, Mode
from newsdesk.retriever.search import Searcher


def hits_to_nodes(hits: list[ArticleHit]) -> list[NodeWithScore]:
    nodes = []
    for hit in hits:
        for p in hit.passages:
            meta: dict[str, Any] = {
                "doc_id": p.doc_id,
                "title": p.title,
                "source": p.source,
                "published": p.published,
                "url": p.url,
                "category": p.category,
                "start": p.start,
                "end": p.end,
                "aliases": list(p.aliases),
            }
            node = TextNode(id_=p.chunk_id, text=p.text, metadata=meta)
            nodes.append(NodeWithScore(node=node, score=p.score))
    return nodes


class NewsdeskRetriever(BaseRetriever):
    """A llama-index retriever over a Newsdesk index."""

    def __init__(
        self,
        searcher: Searcher,
        *,
        mode: Mode = "hybrid",
        k: int = 10,
        filters: Filters | None = None,
        **kwargs: Any,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose from {', '.join(MODES)}")
        super().__init__(**kwargs)
        self._searcher = searcher
        self._mode = mode
        self._k = k
        self._filters = filters or Filters()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._searcher.search(
            query_bundle.query_str, filters=self._filters, mode=self._mode, k=self._k
        )
        return hits_to_nodes(hits)
