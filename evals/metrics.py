"""Eval figures: retrieval metrics via ranx, answer metrics, latency percentiles.

Rankings and relevance judgments arrive at article level with aliases already mapped to their
canonical doc_id (see evals/runner.py), so ranx sees each article once.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from newsdesk.evals.questions import QUESTION_TYPES

if TYPE_CHECKING:
    from ranx import Qrels, Run

log = logging.getLogger(__name__)

# Our names -> ranx metric names. All are "higher is better".
RETRIEVAL_METRICS: dict[str, str] = {
    "hit@1": "hit_rate@1",
    "hit@5": "hit_rate@5",
    "hit@10": "hit_rate@10",
    "recall@10": "recall@10",
    "mrr@10": "mrr@10",
    "ndcg@10": "ndcg@10",
}
MULTI_ALL = "multi_all@10"
ANSWER_METRICS = ("keyword_recall", "citation_precision", "refusal_rate", "false_refusal_rate")
LOWER_IS_BETTER = frozenset({"false_refusal_rate"})
SIGNIFICANCE_METRICS = ("mrr@10", "ndcg@10", "recall@10", "hit@1")
_EMPTY = "\x00no-results"  # stands in for an empty ranking (ranx cannot build an all-empty Run)


@contextmanager
def _quiet_ranx() -> Iterator[None]:
    """ranx's numba kernels warn about int casts while compiling, scipy about tiny samples;
    neither says anything about the eval."""
    from numba.core.errors import NumbaWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _qrels(relevant: Mapping[str, Collection[str]]) -> Qrels:
    from ranx import Qrels

    return Qrels({qid: {doc: 1 for doc in docs} for qid, docs in relevant.items()})


def _run(rankings: Mapping[str, Sequence[str]], qids: Iterable[str], name: str) -> Run:
    """A ranx Run whose scores reproduce the given rank order (ranx sorts by score)."""
    from ranx import Run

    run: dict[str, dict[str, float]] = {}
    for qid in qids:
        docs = list(dict.fromkeys(rankings.get(qid, ())))
        run[qid] = {doc: float(len(docs) - i) for i, doc in enumerate(docs)} or {_EMPTY: 0.0}
    return Run(run, name=name)


def per_question_scores(
    rankings: Mapping[str, Sequence[str]], relevant: Mapping[str, Collection[str]]
) -> dict[str, dict[str, float]]:
    """metric -> question id -> score, for every metric of RETRIEVAL_METRICS.

    `relevant` names the questions to score (each with at least one relevant doc_id);
    `rankings` holds each question's retrieved doc_ids, best first.
    """
    if not relevant:
        return {name: {} for name in RETRIEVAL_METRICS}
    from ranx import evaluate

    qrels = _qrels(relevant)
    run = _run(rankings, relevant, "run")
    with _quiet_ranx():
        evaluate(qrels, run, list(RETRIEVAL_METRICS.values()), return_mean=False)
    return {
        name: {qid: float(run.scores[ranx_name][qid]) for qid in relevant}
        for name, ranx_name in RETRIEVAL_METRICS.items()
    }


def all_found(ranking: Sequence[str], relevant: Collection[str], k: int = 10) -> bool:
    """Whether every relevant doc_id is among the first k retrieved."""
    return set(relevant) <= set(ranking[:k])


def summarize(
    scores: Mapping[str, Mapping[str, float]],
    types: Mapping[str, str],
    found_all: Mapping[str, bool],
    latencies_ms: Sequence[float],
) -> dict[str, object]:
    """One mode's figures: means overall and per question type, multi_all@10, latency."""
    qids = list(types)
    summary: dict[str, object] = {
        name: mean_or_none(scores[name][q] for q in qids) for name in RETRIEVAL_METRICS
    }
    multi = [q for q in qids if types[q] == "multi"]
    summary[MULTI_ALL] = mean_or_none(float(found_all[q]) for q in multi)
    by_type: dict[str, dict[str, object]] = {}
    present = set(types.values())
    for qtype in [t for t in QUESTION_TYPES if t in present] + sorted(
        present - set(QUESTION_TYPES)
    ):
        members = [q for q in qids if types[q] == qtype]
        figures: dict[str, object] = {"questions": len(members)}
        figures.update(
            {name: mean_or_none(scores[name][q] for q in members) for name in RETRIEVAL_METRICS}
        )
        if qtype == "multi":
            figures[MULTI_ALL] = summary[MULTI_ALL]
        by_type[qtype] = figures
    summary["by_type"] = by_type
    summary["latency_ms"] = percentiles(latencies_ms)
    return summary


def significance(
    rankings_by_mode: Mapping[str, Mapping[str, Sequence[str]]],
    relevant: Mapping[str, Collection[str]],
    *,
    max_p: float = 0.05,
) -> dict[str, object] | None:
    """Two-sided paired Student's t-test (ranx.compare) between every pair of modes.

    Returns None when there is nothing to compare (one mode, or fewer than two questions).
    A p_value of None means the two modes scored every question the same.
    """
    modes = list(rankings_by_mode)
    if len(modes) < 2 or len(relevant) < 2:
        return None
    from ranx import compare

    qrels = _qrels(relevant)
    runs = [_run(rankings_by_mode[m], relevant, m) for m in modes]
    metrics = [RETRIEVAL_METRICS[name] for name in SIGNIFICANCE_METRICS]
    with _quiet_ranx():
        report = compare(qrels, runs, metrics, stat_test="student", max_p=max_p)
    pairs: list[dict[str, object]] = []
    for i, a in enumerate(modes):
        for b in modes[i + 1 :]:
            tests = report.comparisons[(a, b)]
            for name in SIGNIFICANCE_METRICS:
                ranx_name = RETRIEVAL_METRICS[name]
                p = float(tests[ranx_name]["p_value"])
                mean_a = float(report.results[a][ranx_name])
                mean_b = float(report.results[b][ranx_name])
                better = a if mean_a > mean_b else b if mean_b > mean_a else None
                pairs.append(
                    {
                        "a": a,
                        "b": b,
                        "metric": name,
                        "p_value": None if math.isnan(p) else p,
                        "significant": bool(not math.isnan(p) and p <= max_p),
                        "better": better,
                    }
                )
    return {"test": "paired student t-test (two-sided)", "max_p": max_p, "pairs": pairs}


# ------------------------------------------------------------------ answers
def keyword_recall(text: str, keywords: Sequence[str]) -> float | None:
    """Share of keywords found in the text, case-insensitively. None without keywords."""
    if not keywords:
        return None
    haystack = " ".join(text.casefold().split())
    found = sum(" ".join(k.casefold().split()) in haystack for k in keywords)
    return found / len(keywords)


def citation_precision(cited: Collection[str], relevant: Collection[str]) -> float | None:
    """Share of distinct cited doc_ids that are relevant. None when nothing is cited."""
    cited = set(cited)
    if not cited:
        return None
    return len(cited & set(relevant)) / len(cited)


# ------------------------------------------------------------------ numbers
def mean_or_none(values: Iterable[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    p50, p95 = np.percentile(np.asarray(values, dtype=float), [50, 95])
    return {"p50": float(p50), "p95": float(p95)}
