"""`--fail-under` gates: `MODE.METRIC=VALUE` or `answers.METRIC=VALUE`, for CI.

Examples: ``hybrid.mrr@10=0.7``, ``bm25.hit@10=0.9``, ``hybrid.multi.recall@10=0.6`` (one
question type), ``answers.keyword_recall=0.5``. Only figures where higher is better can be gated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newsdesk.core.errors import EvalError
from newsdesk.evals.metrics import ANSWER_METRICS, LOWER_IS_BETTER, MULTI_ALL, RETRIEVAL_METRICS
from newsdesk.evals.questions import QUESTION_TYPES

MODE_METRICS = (*RETRIEVAL_METRICS, MULTI_ALL)
GATED_ANSWER_METRICS = tuple(m for m in ANSWER_METRICS if m not in LOWER_IS_BETTER)


@dataclass(frozen=True)
class Threshold:
    spec: str  # as given, e.g. "hybrid.mrr@10=0.7"
    scope: str  # a mode name or "answers"
    metric: str
    minimum: float
    qtype: str = ""  # a question type for by_type figures

    @property
    def name(self) -> str:
        return ".".join(p for p in (self.scope, self.qtype, self.metric) if p)


def parse_threshold(spec: str) -> Threshold:
    name, sep, value = spec.partition("=")
    parts = [p.strip() for p in name.strip().split(".")]
    if not sep or len(parts) not in (2, 3) or not all(parts):
        raise EvalError(
            f"--fail-under {spec!r}: expected MODE.METRIC=VALUE or answers.METRIC=VALUE, "
            "e.g. hybrid.mrr@10=0.7"
        )
    try:
        minimum = float(value)
    except ValueError:
        raise EvalError(f"--fail-under {spec!r}: {value.strip()!r} is not a number") from None
    if not math.isfinite(minimum):
        raise EvalError(f"--fail-under {spec!r}: the threshold must be a finite number")
    scope, metric = parts[0], parts[-1]
    qtype = parts[1] if len(parts) == 3 else ""
    if scope == "answers":
        if qtype or metric not in GATED_ANSWER_METRICS:
            raise EvalError(
                f"--fail-under {spec!r}: unknown answer metric; use one of "
                + ", ".join(GATED_ANSWER_METRICS)
            )
    else:
        if metric not in MODE_METRICS:
            raise EvalError(
                f"--fail-under {spec!r}: unknown metric {metric!r}; use one of "
                + ", ".join(MODE_METRICS)
            )
        if qtype and qtype not in QUESTION_TYPES[:2]:
            raise EvalError(
                f"--fail-under {spec!r}: unknown question type {qtype!r}; use single or multi"
            )
    return Threshold(spec, scope, metric, minimum, qtype)


def parse_thresholds(specs: Sequence[str]) -> list[Threshold]:
    return [parse_threshold(s) for s in specs]


def check_applicable(thresholds: Sequence[Threshold], modes: Sequence[str], answers: bool) -> None:
    """Raise EvalError when a gate names a mode not evaluated, or answers without --answers."""
    for t in thresholds:
        if t.scope == "answers" and not answers:
            raise EvalError(f"--fail-under {t.spec!r} needs --answers")
        if t.scope != "answers" and t.scope not in modes:
            raise EvalError(
                f"--fail-under {t.spec!r}: mode {t.scope!r} is not evaluated "
                f"(modes: {', '.join(modes)})"
            )


def figure(report: dict[str, Any], t: Threshold) -> float | None:
    if t.scope == "answers":
        return (report.get("answers") or {}).get(t.metric)
    figures = report["modes"][t.scope]
    if t.qtype:
        figures = figures["by_type"].get(t.qtype, {})
    return figures.get(t.metric)


def failures(report: dict[str, Any], thresholds: Sequence[Threshold]) -> list[str]:
    """One line per gate that failed; a figure that could not be measured fails too."""
    failed: list[str] = []
    for t in thresholds:
        value = figure(report, t)
        if value is None:
            failed.append(f"{t.name} could not be measured (no questions of that kind)")
        elif value < t.minimum:
            failed.append(f"{t.name} = {value:.4f} is under {t.minimum:g}")
    return failed
