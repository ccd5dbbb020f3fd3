"""The flat names of eval figures: the keys of the report's metric map and what `--fail-under`
gates name. One definition for both::

    MODE.METRIC         hybrid.mrr@10, bm25.hit@1, dense.multi_all@10, hybrid.latency_p50_ms
    MODE.TYPE.METRIC    hybrid.multi.recall@10, bm25.single.hit@1 (answerable types only)
    answers.METRIC      answers.keyword_recall, answers.refusal_rate, answers.latency_p95_ms
    answers.INTENT.METRIC   answers.timeline.keyword_recall, answers.quote.citation_precision

Retrieval metrics are cut at k, the retrieval depth (`newsdesk eval --k`, default 10): hit@1,
hit@5 and hit@k (cut-offs up to k), recall@k, mrr@k, ndcg@k, and multi_all@k (the share of
multi questions with every relevant article in the top k). `answers.refusal_rate` is the share
of null questions not answered (refused, or "not stated" with the closest evidence),
`answers.false_refusal_rate` that of answerable ones. A non-answer earns no keyword recall and
no citation precision. The INTENT figures cover the questions `ask` reads as asking for a
list (retriever/intent.py: quote, who_said, timeline), read from the question after the
follow-up rewriting; null when a file holds none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from newsdesk.core.errors import EvalError
from newsdesk.core.types import MODES
from newsdesk.evals.questions import QUESTION_TYPES
from newsdesk.retriever.intent import IntentKind

ANSWERS = "answers"
TYPES = QUESTION_TYPES[:2]  # the answerable question types, which have figures of their own
LATENCY = ("latency_p50_ms", "latency_p95_ms")
ANSWER_METRICS = ("keyword_recall", "citation_precision", "refusal_rate", "false_refusal_rate")
INTENTS = tuple(k for k in get_args(IntentKind) if k != "plain")  # the listed answers
INTENT_METRICS = ("keyword_recall", "citation_precision")
LOWER_IS_BETTER = frozenset({"false_refusal_rate", *LATENCY})


def retrieval_metrics(k: int) -> tuple[str, ...]:
    """The ranking metrics at depth k, e.g. hit@1, hit@5, hit@10, recall@10, mrr@10, ndcg@10."""
    hits = sorted(n for n in {1, 5, k} if n <= k)
    return (*(f"hit@{n}" for n in hits), f"recall@{k}", f"mrr@{k}", f"ndcg@{k}")


def multi_all(k: int) -> str:
    return f"multi_all@{k}"


def mode_metrics(k: int) -> tuple[str, ...]:
    """A mode's figures over all answerable questions."""
    return (*retrieval_metrics(k), multi_all(k), *LATENCY)


def type_metrics(qtype: str, k: int) -> tuple[str, ...]:
    """A mode's figures over the questions of one type."""
    return (*retrieval_metrics(k), multi_all(k)) if qtype == "multi" else retrieval_metrics(k)


@dataclass(frozen=True)
class FigureName:
    """One figure of the report: `str()` of it is the flat name."""

    scope: str  # a retrieval mode, or "answers"
    metric: str
    qtype: str = ""  # a question type (or, for answers, an intent): its questions only

    def __str__(self) -> str:
        return ".".join(p for p in (self.scope, self.qtype, self.metric) if p)

    @property
    def higher_is_better(self) -> bool:
        return self.metric not in LOWER_IS_BETTER


def figure_names(modes: Sequence[str], k: int, *, answers: bool) -> list[FigureName]:
    """Every figure of a report over these modes at depth k, in report order."""
    names = [FigureName(m, metric) for m in modes for metric in mode_metrics(k)]
    names += [
        FigureName(m, metric, qtype)
        for m in modes
        for qtype in TYPES
        for metric in type_metrics(qtype, k)
    ]
    if answers:
        names += [FigureName(ANSWERS, metric) for metric in (*ANSWER_METRICS, *LATENCY)]
        names += [FigureName(ANSWERS, m, intent) for intent in INTENTS for m in INTENT_METRICS]
    return names


def parse_name(text: str, *, k: int = 10) -> FigureName:
    """The figure a flat name stands for; EvalError saying what is wrong with any other name."""
    parts = [p.strip() for p in text.strip().split(".")]
    if len(parts) not in (2, 3) or not all(parts):
        raise EvalError(f"{text!r} is not a figure name: expected MODE.METRIC or answers.METRIC")
    scope, metric = parts[0], parts[-1]
    qtype = parts[1] if len(parts) == 3 else ""
    if scope == ANSWERS:
        if qtype:
            if qtype not in INTENTS or metric not in INTENT_METRICS:
                raise EvalError(
                    f"unknown answer figure {text.strip()!r}; use answers.INTENT.METRIC with "
                    f"INTENT one of {', '.join(INTENTS)} and METRIC {' or '.join(INTENT_METRICS)}"
                )
            return FigureName(scope, metric, qtype)
        known: tuple[str, ...] = (*ANSWER_METRICS, *LATENCY)
        if metric not in known:
            raise EvalError(f"unknown answer metric {metric!r}; use one of {', '.join(known)}")
        return FigureName(scope, metric)
    if scope not in MODES:
        raise EvalError(f"unknown mode {scope!r}; use {', '.join(MODES)} or {ANSWERS}")
    if qtype and qtype not in TYPES:
        raise EvalError(f"unknown question type {qtype!r}; use {' or '.join(TYPES)}")
    known = type_metrics(qtype, k) if qtype else mode_metrics(k)
    if metric not in known:
        raise EvalError(f"unknown metric {metric!r} at k={k}; use one of {', '.join(known)}")
    return FigureName(scope, metric, qtype)
