"""Ingest as a user runs it: whole processes on the same folder, start-up included.

Newsdesk: `newsdesk ingest FOLDER --index DIR --json --no-enrich` into a fresh index (until it
is searchable), `newsdesk enrich` (its second phase, sentence vectors and named entities, timed
apart), then the ingest again (nothing changed: the no-op re-ingest). The naive baseline: `python -m
bench.naive_baseline` (llama-index + HuggingFaceEmbedding + Chroma) on the same folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench.measure import Finished, bench_env, newsdesk_cmd, rate, run_process


def _env(backend: str) -> dict[str, str]:
    return bench_env(NEWSDESK_EMBEDDING_BACKEND=backend) if backend else bench_env()


def _ingest(folder: Path, index: Path, backend: str) -> Finished:
    """Until the archive is searchable: the second phase (sentences, entities) is timed apart."""
    return run_process(
        [*newsdesk_cmd(), "ingest", str(folder), "--index", str(index), "--json", "--no-enrich"],
        env=_env(backend),
    ).check(ok=(0, 4))  # 4: some files skipped, counted in "errors"


def run_newsdesk(folder: Path, index: Path, backend: str) -> dict[str, Any]:
    first = _ingest(folder, index, backend)
    report = first.json()
    enriched = run_process(
        [*newsdesk_cmd(), "enrich", "--index", str(index), "--json"], env=_env(backend)
    ).check()
    entities = enriched.json()
    again = _ingest(folder, index, backend)
    noop = again.json()
    if noop["chunks_added"] or noop["articles_added"] or noop["articles_updated"]:
        raise RuntimeError(f"re-ingesting an unchanged folder changed the index: {noop}")
    articles = report["articles_added"] + report["duplicates"]
    chunks = report["chunks_added"]
    return {
        "backend": backend,
        "articles": articles,
        "chunks": chunks,
        "errors": len(report["errors"]),
        "wall_s": round(first.wall_s, 2),
        "ingest_s": report["seconds"],  # inside the process: model load + read + embed + write
        "ingest_articles_per_s": rate(articles, report["seconds"]),
        "ingest_chunks_per_s": rate(chunks, report["seconds"]),
        "wall_articles_per_s": rate(articles, first.wall_s),
        "wall_chunks_per_s": rate(chunks, first.wall_s),
        "peak_rss_mb": round(first.peak_rss_mb, 1),
        "reingest_noop_s": round(again.wall_s, 2),
        "reingest_noop_inner_s": noop["seconds"],
        # the second phase, after the archive is searchable: model loads, sentence vectors,
        # NER, writes; the two parts also apart (inside the process)
        "enrich_wall_s": round(enriched.wall_s, 2),
        "enrich_s_per_1000_articles": entities["seconds_per_1000_articles"],
        "sentences_s_per_1000_articles": entities["sentences"]["seconds_per_1000_articles"],
        "enrich_share_of_ingest": round(enriched.wall_s / (first.wall_s + enriched.wall_s), 3),
    }


def run_naive(folder: Path, chroma_dir: Path) -> dict[str, Any]:
    done = run_process(
        [sys.executable, "-m", "bench.naive_baseline", str(folder), "--chroma", str(chroma_dir)]
    ).check()
    got = done.json()
    return {
        "articles": got["documents"],
        "chunks": got["chunks"],
        "wall_s": round(done.wall_s, 2),
        "ingest_s": got["seconds"],
        "ingest_articles_per_s": rate(got["documents"], got["seconds"]),
        "ingest_chunks_per_s": rate(got["chunks"], got["seconds"]),
        "wall_articles_per_s": rate(got["documents"], done.wall_s),
        "wall_chunks_per_s": rate(got["chunks"], done.wall_s),
        "peak_rss_mb": round(done.peak_rss_mb, 1),
    }
