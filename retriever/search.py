"""Hybrid search: BM25 and dense vectors, fused by weighted reciprocal rank, grouped to articles.

Chunks are ranked first (each list filtered the same way), fused, then grouped to their
articles: an article's score is its best chunk's plus a smaller share of its second best, so a
story that matches in two places beats one lucky sentence. Duplicate articles share chunks (the
ledger stores identical texts once) and come back as one hit carrying its aliases.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from newsdesk.core.config import Settings
from newsdesk.core.types import Article, ArticleHit, Filters, Passage
from newsdesk.embedding import Embedder, load_embedder
from newsdesk.store import lexical, schema
from newsdesk.store.index import Index
from newsdesk.store.ledger import StoredChunk

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "bm25")
RRF_K = 5.0
DENSE_WEIGHT = 1.0
BM25_WEIGHT = 1.0
SECOND_CHUNK_SHARE = 0.3
PASSAGES_PER_ARTICLE = 3
PRF_CHUNKS = 5  # top fused chunks used for query expansion (0 turns it off)
PRF_DENSE_WEIGHT = 0.3
PRF_LEXICAL_WEIGHT = 0.3
PRF_TERMS = 10
PRF_MIN_CHUNKS_PER_FEEDBACK = 50  # one feedback chunk per 50 indexed chunks, at most PRF_CHUNKS


@dataclass
class _Table:
    """Per-chunk metadata in BM25 row order, for filtering BM25 scores without SQL."""

    chunk_ids: list[str]
    doc: list[str]
    day: np.ndarray  # int32, -1 when undated
    source: np.ndarray  # object array of str
    category: np.ndarray

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
        return keep


@dataclass
class _Candidate:
    chunk_id: str
    score: float = 0.0
    similarity: float | None = None
    lexical: float = 0.0


class Searcher:
    """Reads one index. Thread-safe; notices when another process changed the index."""

    def __init__(self, settings: Settings, index: Index, embedder: Embedder) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self._lock = threading.RLock()
        self._generation = -1
        self._bm25: lexical.Bm25 | None = None
        self._table: _Table | None = None
        self._qcache: tuple[str, np.ndarray] | None = None
        self._df: np.ndarray | None = None
        self._latest: tuple[int, date | None] | None = None
        self.refresh()

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> Searcher:
        index = Index.open(settings, create=False)
        try:
            if embedder is None:
                embedder = load_embedder(settings)
            index.check_identity(embedder.identity, embedder.dimension, settings)
            return cls(settings, index, embedder)
        except BaseException:
            index.close()
            raise

    def close(self) -> None:
        self.index.close()

    # ------------------------------------------------------------ freshness
    def refresh(self) -> bool:
        """Reload BM25 and the chunk table if an ingest changed the index. True if reloaded."""
        with self._lock:
            generation = self.index.ledger.generation
            if generation == self._generation:
                return False
            if self._generation != -1:
                self.index.vectors.reopen()  # another process wrote: see its vectors too
            bm25 = lexical.load_or_build(self.index.ledger, self.index.dir)
            rows = {r[0]: r for r in self.index.ledger.chunk_table()}
            order = [rows[c] for c in bm25.chunk_ids if c in rows]
            if len(order) != len(bm25.chunk_ids):  # BM25 older than the ledger: rebuild
                bm25 = lexical.build(self.index.ledger)
                order = [rows[c] for c in bm25.chunk_ids]
            self._table = _Table(
                chunk_ids=bm25.chunk_ids,
                doc=[r[1] for r in order],
                day=np.array([_day(r[2]) for r in order], dtype=np.int32),
                source=np.array([r[3] for r in order], dtype=object),
                category=np.array([r[4] for r in order], dtype=object),
            )
            self._bm25 = bm25
            self._df = None
            self._generation = generation
            log.info("index generation %d loaded: %d chunks", generation, len(bm25.chunk_ids))
            return True

    # ------------------------------------------------------------ ranking
    def _bm25_ranked(
        self, query: str, filters: Filters, pool: int, expansion: list[str] | None = None
    ) -> list[_Candidate]:
        assert self._bm25 is not None and self._table is not None
        scores = self._bm25.scores(lexical.terms(query))
        if expansion:
            scores = scores + PRF_LEXICAL_WEIGHT * self._bm25.scores(expansion)
        mask = self._table.mask(filters)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(pool, int(np.count_nonzero(scores > 0)))
        if n == 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        ids = self._table.chunk_ids
        return [_Candidate(ids[i], lexical=float(scores[i])) for i in top]

    def _query_vector(self, query: str) -> np.ndarray:
        if self._qcache is None or self._qcache[0] != query:
            self._qcache = (query, self.embedder.embed_query(query))
        return self._qcache[1]

    def _dense_ranked(
        self, query: str, filters: Filters, pool: int, vector: np.ndarray | None = None
    ) -> list[_Candidate]:
        if vector is None:
            vector = self._query_vector(query)
        hits = self.index.vectors.query(vector, pool, filters)
        return [_Candidate(h.chunk_id, similarity=h.similarity) for h in hits]

    def rank_chunks(self, query: str, filters: Filters, mode: str, pool: int) -> list[_Candidate]:
        """Candidate chunks for `query`, best first, with their dense and lexical evidence."""
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose from {', '.join(MODES)}")
        dense = self._dense_ranked(query, filters, pool) if mode != "bm25" else []
        lexical_ = self._bm25_ranked(query, filters, pool) if mode != "dense" else []
        if mode == "dense":
            for rank, c in enumerate(dense):
                c.score = 1.0 / (RRF_K + rank + 1)
            return dense
        if mode == "bm25":
            for rank, c in enumerate(lexical_):
                c.score = 1.0 / (RRF_K + rank + 1)
            return lexical_
        fused = self._fuse(dense, lexical_)
        # Feedback needs a focused top set: in a tiny archive the top five chunks are most of
        # it, and expansion would only add noise.
        feedback = min(
            PRF_CHUNKS,
            len(self._bm25.chunk_ids if self._bm25 else ()) // PRF_MIN_CHUNKS_PER_FEEDBACK,
        )
        if feedback <= 0 or not fused:
            return fused
        # Query-side expansion from the top passages (pseudo-relevance feedback): their
        # vectors pull the query vector towards the story's wording (Rocchio), their most
        # distinctive terms join the BM25 query at a lower weight (RM3-like). Questions that
        # name things indirectly ("the Italian motor group") gain the words articles use.
        top = [c.chunk_id for c in fused[:feedback]]
        vecs = self.index.vectors.embeddings(top)
        vector = self._query_vector(query)
        if vecs:
            moved = vector + PRF_DENSE_WEIGHT * np.mean(list(vecs.values()), axis=0)
            vector = moved / (np.linalg.norm(moved) or 1.0)
        dense = self._dense_ranked(query, filters, pool, vector=vector)
        lexical_ = self._bm25_ranked(query, filters, pool, self._expansion_terms(query, top))
        fused = self._fuse(dense, lexical_)
        for c in fused:  # evidence is measured against the question, not the expanded query
            c.similarity = None
        return fused

    def _expansion_terms(self, query: str, chunk_ids: list[str]) -> list[str]:
        asked = set(lexical.terms(query))
        weights: dict[str, float] = {}
        for chunk in self.index.ledger.get_chunks(chunk_ids).values():
            for term in lexical.terms(f"{chunk.title} {chunk.text}"):
                if term not in asked:
                    weights[term] = weights.get(term, 0.0) + self.idf(term)
        ranked = sorted(weights, key=lambda t: -weights[t])
        return ranked[:PRF_TERMS]

    def _fuse(self, dense: list[_Candidate], lexical_: list[_Candidate]) -> list[_Candidate]:
        """Weighted reciprocal-rank fusion of the two ranked lists. (A convex blend of
        normalised scores was measured too: worse on hard_dev, 0.48-0.59 vs 0.64 MRR@10.)"""
        fused: dict[str, _Candidate] = {}
        for weight, ranked in ((DENSE_WEIGHT, dense), (BM25_WEIGHT, lexical_)):
            for rank, cand in enumerate(ranked):
                got = fused.setdefault(cand.chunk_id, _Candidate(cand.chunk_id))
                got.score += weight / (RRF_K + rank + 1)
                if cand.similarity is not None:
                    got.similarity = cand.similarity
                got.lexical = max(got.lexical, cand.lexical)
        return sorted(fused.values(), key=lambda c: -c.score)

    def search(
        self,
        question: str,
        *,
        filters: Filters | None = None,
        mode: str = "hybrid",
        k: int = 10,
        recency: bool = False,
    ) -> list[ArticleHit]:
        """The `k` best articles for `question`, each with its best passages."""
        filters = filters or Filters()
        self.refresh()
        with self._lock:
            pool = max(100, 10 * k)
            ranked = self.rank_chunks(question, filters, mode, pool)
            if not ranked:
                return []
            stored = self.index.ledger.get_chunks([c.chunk_id for c in ranked])
            self._fill_similarity(question, ranked[: 4 * k])
        floor_sim = min((c.similarity for c in ranked if c.similarity is not None), default=0.0)
        by_doc: dict[str, list[tuple[_Candidate, StoredChunk]]] = {}
        for cand in ranked:
            chunk = stored.get(cand.chunk_id)
            if chunk is None:  # removed by a concurrent ingest
                continue
            by_doc.setdefault(chunk.doc_id, []).append((cand, chunk))
        scored: list[tuple[float, str]] = []
        for doc_id, items in by_doc.items():
            score = items[0][0].score
            if len(items) > 1:
                score += SECOND_CHUNK_SHARE * items[1][0].score
            scored.append((score, doc_id))
        if recency:
            scored = _prefer_recent(scored, by_doc)
        scored.sort(key=lambda s: -s[0])
        hits: list[ArticleHit] = []
        seen_text: set[str] = set()
        top_docs = [d for _, d in scored[: 3 * k]]
        with self._lock:
            aliases = self.index.ledger.aliases_of(top_docs)
        for score, doc_id in scored:
            items = by_doc[doc_id]
            fingerprint = _fingerprint(items[0][1].text)
            if fingerprint in seen_text:
                continue  # a near-identical story already holds a slot
            seen_text.add(fingerprint)
            passages = tuple(
                _passage(c, s, floor_sim, tuple(aliases.get(doc_id, ())))
                for c, s in items[:PASSAGES_PER_ARTICLE]
            )
            hits.append(ArticleHit(doc_id, score, passages, tuple(aliases.get(doc_id, ()))))
            if len(hits) >= k:
                break
        return hits

    def _fill_similarity(self, question: str, candidates: list[_Candidate]) -> None:
        """Give top candidates that only BM25 found their true cosine similarity, so the
        refusal check sees the same evidence whatever the mode."""
        missing = [c for c in candidates if c.similarity is None]
        if not missing:
            return
        vector = self._query_vector(question)
        stored = self.index.vectors.embeddings([c.chunk_id for c in missing])
        for c in missing:
            vec = stored.get(c.chunk_id)
            if vec is not None:
                c.similarity = float(np.dot(vec, vector))

    # ------------------------------------------------------------ archive facts
    def stats(self) -> dict[str, object]:
        with self._lock:
            return self.index.ledger.stats()

    def latest_date(self) -> date | None:
        """The newest publication date, computed once per index generation (it scans)."""
        self.refresh()
        with self._lock:
            if self._latest is None or self._latest[0] != self._generation:
                latest = self.index.ledger.stats().get("latest")
                day = date.fromisoformat(str(latest)[:10]) if latest else None
                self._latest = (self._generation, day)
            return self._latest[1]

    def article(self, doc_id: str) -> Article | None:
        with self._lock:
            return self.index.ledger.article(doc_id)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a (stemmed) term over the chunks."""
        with self._lock:
            bm25 = self._bm25
            if bm25 is None or not bm25.chunk_ids:
                return 0.0
            if self._df is None:
                self._df = np.diff(np.asarray(bm25.model.scores["indptr"]))
            i = bm25.model.vocab_dict.get(term)
            df = int(self._df[i]) if i is not None and i < len(self._df) else 0
            return float(np.log((len(bm25.chunk_ids) + 1) / (df + 0.5)))

    def curated_questions(self) -> list[str]:
        """Questions the archive's owner suggested (see ingest's `.newsdesk-questions`)."""
        import json

        with self._lock:
            raw = self.index.ledger.get_meta("example_questions")
        return [str(q) for q in json.loads(raw)] if raw else []

    def recent_titles(self, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            return self.index.ledger.titles(limit)


def _day(published: str) -> int:
    day = schema.day_number(published)
    return -1 if day is None else day


def _fingerprint(text: str) -> str:
    return hashlib.sha1(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def _passage(c: _Candidate, s: StoredChunk, floor_sim: float, aliases: tuple[str, ...]) -> Passage:
    return Passage(
        chunk_id=s.chunk_id,
        doc_id=s.doc_id,
        text=s.text,
        start=s.start,
        end=s.end,
        position=s.position,
        score=c.score,
        title=s.title,
        source=s.source,
        published=s.published,
        url=s.url,
        category=s.category,
        aliases=aliases,
        similarity=c.similarity if c.similarity is not None else floor_sim,
        lexical=c.lexical,
    )


def _prefer_recent(
    scored: list[tuple[float, str]], by_doc: dict[str, list[tuple[_Candidate, StoredChunk]]]
) -> list[tuple[float, str]]:
    """Blend relevance with recency among the candidates: newer dated articles rise."""
    days = {d: schema.day_number(items[0][1].published) for d, items in by_doc.items()}
    known = [v for v in days.values() if v is not None]
    if not known or not scored:
        return scored
    lo, hi = min(known), max(known)
    top = max(s for s, _ in scored)
    out = []
    for score, doc in scored:
        day = days.get(doc)
        fresh = 0.0 if day is None or hi == lo else (day - lo) / (hi - lo)
        out.append((score + 0.5 * top * fresh, doc))
    return out


def passages_of(hits: Sequence[ArticleHit]) -> list[Passage]:
    return [p for h in hits for p in h.passages]


__all__ = ["MODES", "Searcher", "passages_of"]
