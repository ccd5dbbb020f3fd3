"""Query latency, start-up and serving memory.

`python -m bench.query_bench --index DIR [--chroma-url URL]` is the probe: a fresh process that
opens the assistant once (as `newsdesk serve` does, without the UI), answers the dev questions
and prints latency percentiles as JSON. The harness runs it as a child to also get its peak
RSS, and times `newsdesk ask` from process start to the printed answer for start-up.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure import Finished, bench_env, newsdesk_cmd, run_process, summary_ms
from newsdesk.evals.questions import EvalQuestion

WARMUP = 3
STARTUP_QUESTION = "What did Russia demand of Ukraine?"


def probe(
    index: Path,
    questions: Sequence[EvalQuestion],
    *,
    chroma_url: str = "",
    backend: str = "",
    rounds: int = 1,
) -> dict[str, Any]:
    """Open the assistant once and time every question (in this process)."""
    from newsdesk.assistant import build_assistant
    from newsdesk.core.config import Settings

    overrides: dict[str, Any] = {"index": index, "chroma_url": chroma_url}
    if backend:
        overrides["embedding_backend"] = backend
    settings = Settings(**overrides)
    started = time.perf_counter()
    assistant = build_assistant(settings)
    open_s = time.perf_counter() - started
    first = assistant.ask(questions[0].question if questions else STARTUP_QUESTION)
    first_s = time.perf_counter() - started
    for q in questions[:WARMUP]:
        assistant.ask(q.question)
    retrieve, answer, total = [], [], []
    reciprocal: list[float] = []
    refused = 0
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            got = assistant.ask(q.question)
            total.append((time.perf_counter() - t0) * 1000.0)
            retrieve.append(got.timings_ms.get("retrieve", 0.0))
            answer.append(got.timings_ms.get("answer", 0.0))
            refused += int(got.refused)
            if q.relevant:
                found = [
                    i
                    for i, h in enumerate(got.retrieved[:10])
                    if h.doc_id in q.relevant or set(h.aliases) & set(q.relevant)
                ]
                reciprocal.append(1.0 / (found[0] + 1) if found else 0.0)
    stats = assistant.stats()
    return {
        "chunks": stats.chunks,
        "articles": stats.articles,
        "backend": settings.embedding_backend,
        "store": "server" if chroma_url else "embedded",
        "open_s": round(open_s, 3),
        "first_answer_s": round(first_s, 3),
        "first_refused": first.refused,
        "questions": len(total),
        "refused": refused,
        "hybrid_mrr@10": round(sum(reciprocal) / len(reciprocal), 4) if reciprocal else None,
        "query_ms": {
            "retrieve": summary_ms(retrieve),
            "answer": summary_ms(answer),
            "total": summary_ms(total),
        },
    }


def run_probe(
    index: Path,
    *,
    chroma_url: str = "",
    backend: str = "",
    limit: int | None = None,
    rounds: int = 1,
) -> dict[str, Any]:
    """The probe as a child process: its figures plus its peak RSS (the serving footprint)."""
    argv = [
        sys.executable,
        "-m",
        "bench.query_bench",
        "--index",
        str(index),
        "--rounds",
        str(rounds),
    ]
    if chroma_url:
        argv += ["--chroma-url", chroma_url]
    if backend:
        argv += ["--backend", backend]
    if limit:
        argv += ["--limit", str(limit)]
    done = run_process(argv).check()
    out = dict(done.json())
    out["peak_rss_mb"] = round(done.peak_rss_mb, 1)
    out["process_s"] = round(done.wall_s, 3)
    return out


def run_startup(index: Path, backend: str, repeats: int) -> dict[str, Any]:
    """`newsdesk ask` from process start to the printed answer, `repeats` times."""
    env = bench_env(NEWSDESK_EMBEDDING_BACKEND=backend) if backend else bench_env()
    runs: list[Finished] = []
    for _ in range(repeats):
        runs.append(
            run_process(
                [*newsdesk_cmd(), "ask", STARTUP_QUESTION, "--index", str(index)], env=env
            ).check()
        )
    walls = sorted(r.wall_s for r in runs)
    return {
        "startup_s": round(walls[len(walls) // 2], 3),
        "startup_runs_s": [round(r.wall_s, 3) for r in runs],
        "ask_peak_rss_mb": round(max(r.peak_rss_mb for r in runs), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    from bench.corpus import questions

    parser = argparse.ArgumentParser(prog="python -m bench.query_bench")
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--chroma-url", default="")
    parser.add_argument("--backend", default="")
    parser.add_argument("--limit", type=int, default=None, help="first N dev questions")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    found = probe(
        args.index,
        questions(args.limit),
        chroma_url=args.chroma_url,
        backend=args.backend,
        rounds=args.rounds,
    )
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
