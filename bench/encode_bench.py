"""The model alone: each embedding backend encoding the very chunks ingest stored.

`python -m bench.encode_bench --index DIR --backend B --out V.npy` loads backend B (exporting
the ONNX model first if needed, timed apart), encodes every stored chunk's embedding text in
one call and saves the vectors. The harness compares them across backends: the rate is the
hardware limit of that backend, the cosine to the torch vectors and the dense MRR@10 on the dev
questions are its quality cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import rate, run_process
from newsdesk.evals.questions import EvalQuestion

WARMUP_TEXTS = 16


def stored_chunks(index: Path) -> tuple[list[str], list[str]]:
    """(embedding texts, canonical doc_ids) of every chunk of the index, in ledger order."""
    from newsdesk.store import schema
    from newsdesk.store.ledger import Ledger

    ledger = Ledger.open(index, create=False)
    try:
        chunks = list(ledger.iter_chunks())
    finally:
        ledger.close()
    return [schema.embedding_text(c.title, c.text) for c in chunks], [c.doc_id for c in chunks]


def encode(index: Path, backend: str, cache_dir: Path, out: Path) -> dict[str, Any]:
    from newsdesk.core.config import Settings
    from newsdesk.embedding import load_embedder

    texts, _ = stored_chunks(index)
    settings = Settings(
        index=index,
        embedding_backend=backend,  # type: ignore[arg-type]
        model_cache=cache_dir,
    )
    t0 = time.perf_counter()
    embedder = load_embedder(settings)
    load_s = time.perf_counter() - t0
    embedder.embed_documents(texts[:WARMUP_TEXTS])
    t0 = time.perf_counter()
    vectors = embedder.embed_documents(texts)
    seconds = time.perf_counter() - t0
    np.save(out, vectors)
    questions = answerable_questions()
    if questions:
        np.save(_query_file(out), np.vstack([embedder.embed_query(q.question) for q in questions]))
    return {
        "backend": backend,
        "chunks": len(texts),
        "load_s": round(load_s, 2),
        "seconds": round(seconds, 2),
        "chunks_per_s": rate(len(texts), seconds),
    }


def export(backend: str, cache_dir: Path) -> dict[str, Any]:
    """Export the model for `backend` into an empty `cache_dir`: the one-off cost a machine
    pays before its first ONNX ingest (the export runs in a child process; its peak memory
    is that child's)."""
    import resource

    from newsdesk.core.config import Settings
    from newsdesk.embedding import load_embedder

    settings = Settings(embedding_backend=backend, model_cache=cache_dir)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    load_embedder(settings)
    seconds = time.perf_counter() - t0
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "backend": backend,
        "export_s": round(seconds, 2),
        "export_peak_rss_mb": round(child_kb / 1024, 1),
    }


def dense_mrr(
    vectors: np.ndarray,
    doc_ids: Sequence[str],
    query_vectors: np.ndarray,
    questions: Sequence[EvalQuestion],
    aliases: Mapping[str, str],
    k: int = 10,
) -> float | None:
    """MRR@k of exact dense retrieval (an article scores its best chunk) over the questions
    whose relevant articles are in the index."""
    docs = np.asarray(doc_ids, dtype=object)
    present = set(doc_ids)
    scores: list[float] = []
    for q, qv in zip(questions, query_vectors, strict=True):
        relevant = {aliases.get(r, r) for r in q.relevant} & present
        if not relevant:
            continue
        sims = vectors @ qv
        best: dict[str, float] = {}
        for i in np.argsort(-sims):
            best.setdefault(docs[i], float(sims[i]))
            if len(best) >= k:
                break
        ranked = list(best)
        hit = next((n for n, d in enumerate(ranked) if d in relevant), None)
        scores.append(0.0 if hit is None else 1.0 / (hit + 1))
    return round(float(np.mean(scores)), 4) if scores else None


def answerable_questions() -> list[EvalQuestion]:
    from bench.corpus import questions

    return [q for q in questions() if q.relevant]


def _query_file(out: Path) -> Path:
    return out.with_name(out.stem + "-questions.npy")


def run_export(backend: str, cache_dir: Path) -> dict[str, Any]:
    """Time the model export into an empty cache in its own process (torch-only: nothing)."""
    if backend == "torch":
        return {"backend": backend, "export_s": 0.0, "export_peak_rss_mb": None}
    done = run_process(
        [
            sys.executable,
            "-m",
            "bench.encode_bench",
            "--export-only",
            "--backend",
            backend,
            "--cache",
            str(cache_dir),
        ]
    ).check()
    return {**done.json(), "wall_s": round(done.wall_s, 2)}


def run_encode(
    index: Path, backends: Sequence[str], workdir: Path, cache_dir: Path
) -> dict[str, dict[str, Any]]:
    """Every backend in its own process (no thread pools fighting), then quality figures."""
    from newsdesk.store.ledger import Ledger

    results: dict[str, dict[str, Any]] = {}
    vectors: dict[str, np.ndarray] = {}
    for backend in backends:
        out = workdir / f"vectors-{backend}.npy"
        done = run_process(
            [
                sys.executable,
                "-m",
                "bench.encode_bench",
                "--index",
                str(index),
                "--backend",
                backend,
                "--cache",
                str(cache_dir),
                "--out",
                str(out),
            ]
        ).check()
        results[backend] = {**done.json(), "peak_rss_mb": round(done.peak_rss_mb, 1)}
        vectors[backend] = np.load(out)
    _, doc_ids = stored_chunks(index)
    ledger = Ledger.open(index, create=False)
    try:
        aliases = ledger.all_aliases()
    finally:
        ledger.close()
    questions = answerable_questions()
    reference = vectors.get("torch")
    for backend in backends:
        if reference is not None and backend != "torch":
            sims = (vectors[backend] * reference).sum(axis=1)
            results[backend]["cosine_to_torch"] = {
                "mean": round(float(sims.mean()), 4),
                "min": round(float(sims.min()), 4),
            }
        if questions:
            qv = np.load(_query_file(workdir / f"vectors-{backend}.npy"))
            results[backend]["dense_mrr@10"] = dense_mrr(
                vectors[backend], doc_ids, qv, questions, aliases
            )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.encode_bench")
    parser.add_argument("--index", type=Path)
    parser.add_argument("--backend", required=True, choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--cache", required=True, type=Path, help="ONNX export cache folder")
    parser.add_argument("--out", type=Path, help="where to save the vectors")
    parser.add_argument("--export-only", action="store_true", help="only time the export")
    args = parser.parse_args(argv)
    if args.export_only:
        print(json.dumps(export(args.backend, args.cache)))
        return 0
    if args.index is None or args.out is None:
        parser.error("--index and --out are required unless --export-only")
    print(json.dumps(encode(args.index, args.backend, args.cache, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
