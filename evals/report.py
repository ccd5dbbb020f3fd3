"""The eval report: an `EvalRun` turned into figures addressed by flat names (evals/names.py).

`EvalReport` is one question file (or the pool of several); `EvalSummary` holds the report of
every file and the pooled one. Their JSON is a contract (tools and CI gates read it)::

    {"files": {label: report, ...}, "pooled": report (without per_question)}

    report = {"label", "files", "questions", "question_types": {type: n}, "modes", "k",
              "answer_mode" (null without --answers),
              "metrics": {"hybrid.mrr@10": 0.63, "hybrid.multi.recall@10": ...,
                          "answers.keyword_recall": ..., ...},
              "significance": {"test", "max_p", "pairs": [...]} or null,
              "per_question": [...]}

A figure that cannot be measured (no multi questions, no null questions, ...) is null.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsdesk.core.types import Mode
from newsdesk.evals.metrics import (
    Significance,
    mean_or_none,
    per_question_scores,
    percentiles,
    significance,
)
from newsdesk.evals.names import (
    ANSWERS,
    INTENTS,
    LATENCY,
    TYPES,
    FigureName,
    figure_names,
    multi_all,
    retrieval_metrics,
)
from newsdesk.evals.questions import QUESTION_TYPES, EvalQuestion
from newsdesk.evals.runner import AnswerResult, EvalRun, ModeResult, pool_runs

POOLED = "pooled"

Figures = dict[FigureName, float | None]


@dataclass(frozen=True)
class QuestionResult:
    """One question: what every mode retrieved, its scores, and the answer (with --answers)."""

    question: EvalQuestion
    modes: Mapping[str, ModeResult]
    scores: Mapping[str, Mapping[str, float]]  # mode -> metric -> score; {} for null questions
    answer: AnswerResult | None = None

    def to_json(self, k: int) -> dict[str, Any]:
        q = self.question
        per_mode: dict[str, Any] = {}
        for mode, r in self.modes.items():
            entry: dict[str, Any] = {
                "retrieved": r.retrieved,
                "hit_rank": r.hit_rank,
                "refused": r.refused,
                "latency_ms": r.latency_ms,
            }
            if q.answerable:
                entry.update(self.scores[mode])
                entry[f"all_found@{k}"] = r.found_all
            per_mode[mode] = entry
        row: dict[str, Any] = {
            "id": q.id,
            "question": q.question,
            "type": q.type,
            "history": list(q.history),
            "relevant": list(q.relevant),
            "modes": per_mode,
        }
        if self.answer is not None:
            a = self.answer
            row["answer"] = {
                "text": a.text,
                "status": a.status,
                "refused": a.refused,
                "citations": a.citations,
                "keyword_recall": a.keyword_recall,
                "citation_precision": a.citation_precision,
                "latency_ms": a.latency_ms,
                "notice": a.notice,
                "intent": a.intent,
            }
        return row


@dataclass(frozen=True)
class EvalReport:
    """The figures of one eval. `metrics` maps every name of `figure_names(modes, k)` to its
    value, None when it cannot be measured."""

    label: str  # the question file's name, or "pooled"
    files: tuple[str, ...]  # the question files it covers
    questions: int
    question_types: Mapping[str, int]  # type -> number of questions
    modes: tuple[Mode, ...]
    k: int
    answer_mode: Mode | None  # None: answers were not run
    metrics: Mapping[str, float | None]
    significance: Significance | None
    per_question: tuple[QuestionResult, ...]

    def figure(self, name: FigureName | str) -> float | None:
        return self.metrics.get(str(name))

    def to_json(self, *, per_question: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "files": list(self.files),
            "questions": self.questions,
            "question_types": dict(self.question_types),
            "modes": list(self.modes),
            "k": self.k,
            "answer_mode": self.answer_mode,
            "metrics": dict(self.metrics),
            "significance": self.significance.to_json() if self.significance else None,
        }
        if per_question:
            out["per_question"] = [row.to_json(self.k) for row in self.per_question]
        return out


@dataclass(frozen=True)
class EvalSummary:
    """The report of every question file, and the pooled report over all their questions
    (the one report itself when there is one file)."""

    reports: tuple[EvalReport, ...]
    pooled: EvalReport

    def to_json(self) -> dict[str, Any]:
        return {
            "files": {r.label: r.to_json() for r in self.reports},
            "pooled": self.pooled.to_json(per_question=False),
        }


def summarize(runs: Mapping[str, EvalRun]) -> EvalSummary:
    """The report of each run (label -> run of one question file) and the pooled report."""
    reports = tuple(build_report(run, label=label) for label, run in runs.items())
    if len(reports) == 1:
        return EvalSummary(reports, reports[0])
    pooled = build_report(pool_runs(runs), label=POOLED, files=tuple(runs))
    return EvalSummary(reports, pooled)


def build_report(run: EvalRun, *, label: str = "", files: Sequence[str] = ()) -> EvalReport:
    k = run.k
    answerable = run.answerable
    relevant = {q.id: run.relevant[q.id] for q in answerable}
    types = {q.id: q.type for q in answerable}
    figures: Figures = {}
    scores: dict[str, dict[str, dict[str, float]]] = {}  # mode -> metric -> qid -> score
    for mode in run.modes:
        results = run.results[mode]
        scores[mode] = per_question_scores(run.rankings(mode), relevant, k)
        found_all = {qid: results[qid].found_all for qid in types}
        latencies = [r.latency_ms for r in results.values()]
        figures |= _mode_figures(mode, k, scores[mode], types, found_all, latencies)
    if run.answers is not None:
        figures |= _answer_figures(run.questions, run.answers)
    names = figure_names(run.modes, k, answers=run.answers is not None)
    counts = Counter(q.type for q in run.questions)
    return EvalReport(
        label=label,
        files=tuple(files) or ((label,) if label else ()),
        questions=len(run.questions),
        question_types={t: counts[t] for t in QUESTION_TYPES if counts[t]},
        modes=tuple(run.modes),
        k=k,
        answer_mode=run.answer_mode if run.answers is not None else None,
        metrics={str(n): figures.get(n) for n in names},
        significance=significance({m: run.rankings(m) for m in run.modes}, relevant, k=k),
        per_question=tuple(_question_result(run, q, scores) for q in run.questions),
    )


def _mode_figures(
    mode: str,
    k: int,
    scores: Mapping[str, Mapping[str, float]],
    types: Mapping[str, str],
    found_all: Mapping[str, bool],
    latencies_ms: Sequence[float],
) -> Figures:
    """A mode's figures: means over all answerable questions and per type, latency."""
    figures: Figures = {}
    groups = {"": list(types), **{t: [q for q in types if types[q] == t] for t in TYPES}}
    for qtype, members in groups.items():
        for name in retrieval_metrics(k):
            figures[FigureName(mode, name, qtype)] = mean_or_none(scores[name][q] for q in members)
        multi = [q for q in members if types[q] == "multi"]
        figures[FigureName(mode, multi_all(k), qtype)] = mean_or_none(
            float(found_all[q]) for q in multi
        )
    figures |= _latency(mode, latencies_ms)
    return figures


def _answer_figures(
    questions: Sequence[EvalQuestion], answers: Mapping[str, AnswerResult]
) -> Figures:
    results = [(q, answers[q.id]) for q in questions]
    values = {
        "keyword_recall": mean_or_none(a.keyword_recall for _, a in results),
        "citation_precision": mean_or_none(a.citation_precision for _, a in results),
        "refusal_rate": mean_or_none(float(a.refused) for q, a in results if not q.answerable),
        "false_refusal_rate": mean_or_none(float(a.refused) for q, a in results if q.answerable),
    }
    figures: Figures = {FigureName(ANSWERS, name): v for name, v in values.items()}
    for intent in INTENTS:  # the questions answered with a list: quotes, a timeline
        asked = [a for q, a in results if q.answerable and a.intent == intent]
        figures[FigureName(ANSWERS, "keyword_recall", intent)] = mean_or_none(
            a.keyword_recall for a in asked
        )
        figures[FigureName(ANSWERS, "citation_precision", intent)] = mean_or_none(
            a.citation_precision for a in asked
        )
    return figures | _latency(ANSWERS, [a.latency_ms for _, a in results])


def _latency(scope: str, values: Sequence[float]) -> Figures:
    p = percentiles(values)
    p50, p95 = LATENCY
    return {FigureName(scope, p50): p["p50"], FigureName(scope, p95): p["p95"]}


def _question_result(
    run: EvalRun, q: EvalQuestion, scores: Mapping[str, Mapping[str, Mapping[str, float]]]
) -> QuestionResult:
    return QuestionResult(
        question=q,
        modes={mode: run.results[mode][q.id] for mode in run.modes},
        scores={
            mode: {name: by_q[q.id] for name, by_q in scores[mode].items()}
            for mode in run.modes
            if q.answerable
        },
        answer=run.answers[q.id] if run.answers is not None else None,
    )


def write_json(summary: EvalSummary | EvalReport, path: Path) -> None:
    data = summary.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
