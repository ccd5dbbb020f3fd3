"""Throughput of questions asked at once: one thread against several.

`python -m bench.concurrency_bench --index DIR [--threads 4] [--retrieve-only]` opens the
assistant over an index once (as `newsdesk serve` does, without the UI), answers the dev
questions from one thread and then from `--threads` threads of a ThreadPoolExecutor (as the UI's
workers do), and prints questions per second for each and the speedup. `--retrieve-only` times
retrieval alone (`Assistant.retrieve`), without composing answers.

`measure()` needs nothing but an object with `ask(question)` and `retrieve(question)`, so that
the same timing runs against older versions of the assistant too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

WARMUP = 3


class Asks(Protocol):
    def ask(self, question: str) -> Any: ...

    def retrieve(self, question: str) -> Any: ...


def _outcome(result: Any) -> tuple[Any, ...]:
    """What must not depend on how many threads ask: the articles found, and the answer."""
    hits = getattr(result, "retrieved", None)
    if hits is None:
        hits = result.hits
    return (tuple((h.doc_id, h.score) for h in hits), getattr(result, "text", None))


def _timed(
    call: Callable[[str], Any], questions: Sequence[str], threads: int
) -> tuple[float, list[tuple[Any, ...]]]:
    """Seconds to answer all `questions` with `threads` threads (1: in this thread), and the
    outcomes in question order."""
    started = time.perf_counter()
    if threads == 1:
        results = [call(q) for q in questions]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(call, questions))
    return time.perf_counter() - started, [_outcome(r) for r in results]


def measure(
    assistant: Asks,
    questions: Sequence[str],
    *,
    threads: int = 4,
    retrieve_only: bool = False,
    rounds: int = 1,
) -> dict[str, Any]:
    """Questions per second from one thread and from `threads` threads, over `rounds`
    alternating runs of each: the best run (the least disturbed by other work on the machine)
    and the median one."""
    call = assistant.retrieve if retrieve_only else assistant.ask
    for q in questions[:WARMUP]:
        call(q)
    one: list[float] = []
    many: list[float] = []
    same = True
    for _ in range(rounds):
        seconds, serial = _timed(call, questions, 1)
        one.append(seconds)
        seconds, parallel = _timed(call, questions, threads)
        many.append(seconds)
        same = same and parallel == serial
    qps_1 = len(questions) / min(one)
    qps_n = len(questions) / min(many)
    median_1 = len(questions) / statistics.median(one)
    median_n = len(questions) / statistics.median(many)
    return {
        "questions": len(questions),
        "threads": threads,
        "retrieve_only": retrieve_only,
        "rounds": rounds,
        "qps_1": round(qps_1, 2),
        f"qps_{threads}": round(qps_n, 2),
        "speedup": round(qps_n / qps_1, 2),
        "median_qps_1": round(median_1, 2),
        f"median_qps_{threads}": round(median_n, 2),
        "median_speedup": round(median_n / median_1, 2),
        "seconds_1": [round(s, 3) for s in one],
        f"seconds_{threads}": [round(s, 3) for s in many],
        "same_results": same,
        "cpus": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def summary(found: dict[str, Any]) -> str:
    threads = found["threads"]
    what = "retrievals" if found["retrieve_only"] else "questions"
    return (
        f"{found['questions']} {what}: {found['qps_1']:.2f}/s from 1 thread, "
        f"{found[f'qps_{threads}']:.2f}/s from {threads} threads "
        f"(speedup {found['speedup']:.2f}x; medians {found['median_qps_1']:.2f}/s and "
        f"{found[f'median_qps_{threads}']:.2f}/s; same results: {found['same_results']}; "
        f"load average {' '.join(map(str, found['load_avg']))})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.concurrency_bench",
        description="Questions per second from one thread and from several at once.",
    )
    parser.add_argument("--index", required=True, type=Path, help="the index to ask")
    parser.add_argument("--threads", type=int, default=4, help="threads asking at once")
    parser.add_argument("--retrieve-only", action="store_true", help="time retrieval alone")
    parser.add_argument("--limit", type=int, default=None, help="first N dev questions")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each; the best counts")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    from bench.corpus import questions
    from newsdesk.assistant import build_assistant
    from newsdesk.core.config import Settings

    asked = [q.question for q in questions(args.limit)]
    assistant = build_assistant(Settings(index=args.index))
    try:
        found = measure(
            assistant,
            asked,
            threads=args.threads,
            retrieve_only=args.retrieve_only,
            rounds=args.rounds,
        )
    finally:
        assistant.close()
    print(json.dumps(found) if args.json else summary(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
