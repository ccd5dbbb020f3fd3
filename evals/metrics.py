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
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from newsdesk.evals.names import retrieval_metrics

if TYPE_CHECKING:
    from ranx import Qrels, Run

log = logging.getLogger(__name__)

_EMPTY = "\x00no-results"  # stands in for an empty ranking (ranx cannot build an all-empty Run)


def significance_metrics(k: int) -> tuple[str, ...]:
    return (f"mrr@{k}", f"ndcg@{k}", f"recall@{k}", "hit@1")


def _ranx_name(name: str) -> str:
    """Our metric name as ranx spells it: hit@5 is ranx's hit_rate@5, the others are alike."""
    return "hit_rate@" + name.removeprefix("hit@") if name.startswith("hit@") else name


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
    rankings: Mapping[str, Sequence[str]], relevant: Mapping[str, Collection[str]], k: int = 10
) -> dict[str, dict[str, float]]:
    """metric -> question id -> score, for every metric of `retrieval_metrics(k)`.

    `relevant` names the questions to score (each with at least one relevant doc_id);
    `rankings` holds each question's retrieved doc_ids, best first.
    """
    names = retrieval_metrics(k)
    if not relevant:
        return {name: {} for name in names}
    from ranx import evaluate

    qrels = _qrels(relevant)
    run = _run(rankings, relevant, "run")
    with _quiet_ranx():
        evaluate(qrels, run, [_ranx_name(n) for n in names], return_mean=False)
    return {
        name: {qid: float(run.scores[_ranx_name(name)][qid]) for qid in relevant} for name in names
    }


def all_found(ranking: Sequence[str], relevant: Collection[str], k: int = 10) -> bool:
    """Whether every relevant doc_id is among the first k retrieved."""
    return set(relevant) <= set(ranking[:k])


@dataclass(frozen=True)
class Comparison:
    """Two modes compared on one metric. A p_value of None: they scored every question alike."""

    a: str
    b: str
    metric: str
    p_value: float | None
    significant: bool
    better: str | None  # the mode with the higher mean, None on a tie

    @property
    def worse(self) -> str:
        return self.b if self.better == self.a else self.a


@dataclass(frozen=True)
class Significance:
    test: str
    max_p: float
    pairs: tuple[Comparison, ...]

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, "max_p": self.max_p, "pairs": [asdict(p) for p in self.pairs]}


def significance(
    rankings_by_mode: Mapping[str, Mapping[str, Sequence[str]]],
    relevant: Mapping[str, Collection[str]],
    *,
    k: int = 10,
    max_p: float = 0.05,
) -> Significance | None:
    """Two-sided paired Student's t-test (ranx.compare) between every pair of modes.

    Returns None when there is nothing to compare (one mode, or fewer than two questions).
    """
    modes = list(rankings_by_mode)
    if len(modes) < 2 or len(relevant) < 2:
        return None
    from ranx import compare

    qrels = _qrels(relevant)
    runs = [_run(rankings_by_mode[m], relevant, m) for m in modes]
    names = significance_metrics(k)
    with _quiet_ranx():
        report = compare(
            qrels, runs, [_ranx_name(n) for n in names], stat_test="student", max_p=max_p
        )
    pairs: list[Comparison] = []
    for i, a in enumerate(modes):
        for b in modes[i + 1 :]:
            tests = report.comparisons[(a, b)]
            for name in names:
                ranx_name = _ranx_name(name)
                p = float(tests[ranx_name]["p_value"])
                mean_a = float(report.results[a][ranx_name])
                mean_b = float(report.results[b][ranx_name])
                better = a if mean_a > mean_b else b if mean_b > mean_a else None
                nan = math.isnan(p)
                pairs.append(
                    Comparison(a, b, name, None if nan else p, not nan and p <= max_p, better)
                )
    return Significance("paired student t-test (two-sided)", max_p, tuple(pairs))


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
