"""Run eval questions through an assistant and record what came back.

Relevance is judged per article. A hit counts for a relevant doc_id when its doc_id or one of
its aliases (exact duplicates folded into it at ingest) is that doc_id. All ids are mapped to
the canonical doc_id the index reports, learnt from every hit and citation seen, so that a
duplicate pair listed as two relevant doc_ids is one article, counted once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Protocol, TypeVar

from tqdm import tqdm

from newsdesk.core.errors import EvalError, QuestionError
from newsdesk.core.types import Answer, Article, ArticleHit, Mode, Status
from newsdesk.evals.metrics import all_found, citation_precision, keyword_recall
from newsdesk.evals.questions import EvalQuestion
from newsdesk.retriever.answering import Retrieval
from newsdesk.retriever.intent import read_intent

log = logging.getLogger(__name__)

_UNKNOWN_SHOWN = 5
T = TypeVar("T")


class EvalTarget(Protocol):
    """What the runner needs of `newsdesk.assistant.Assistant`."""

    def retrieve(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        mode: Mode | None = None,
        k: int | None = None,
    ) -> Retrieval: ...

    def ask(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        mode: Mode | None = None,
        k: int | None = None,
    ) -> Answer: ...

    def article(self, doc_id: str) -> Article | None: ...


@dataclass
class ModeResult:
    """One question retrieved in one mode. `retrieved` holds canonical doc_ids, best first."""

    retrieved: list[str]
    hit_rank: int | None  # 1-based rank of the first relevant article, None if none retrieved
    found_all: bool  # every relevant article in the top k
    refused: bool  # the assistant judged the question unanswerable from these hits
    latency_ms: float


@dataclass
class AnswerResult:
    text: str
    citations: list[dict[str, object]]  # {"n", "doc_id", "quote"}
    cited: list[str]  # distinct canonical doc_ids cited, in order
    status: Status
    keyword_recall: float | None
    citation_precision: float | None
    latency_ms: float
    notice: str = ""
    intent: str = "plain"  # what `ask` read the question as asking for (retriever/intent.py)

    @property
    def refused(self) -> bool:
        """Not answered: refused, or not stated."""
        return self.status != "answered"


@dataclass
class EvalRun:
    questions: list[EvalQuestion]
    modes: list[Mode]
    k: int  # retrieval depth, and the cut-off of the metrics
    relevant: dict[str, list[str]]  # question id -> canonical relevant doc_ids
    results: dict[str, dict[str, ModeResult]] = field(default_factory=dict)  # mode -> qid -> ..
    answers: dict[str, AnswerResult] | None = None
    answer_mode: Mode = "hybrid"

    def rankings(self, mode: str) -> dict[str, list[str]]:
        return {qid: r.retrieved for qid, r in self.results[mode].items()}

    @property
    def answerable(self) -> list[EvalQuestion]:
        return [q for q in self.questions if q.answerable]


def check_relevant_ids(target: EvalTarget, questions: Sequence[EvalQuestion]) -> None:
    """Raise EvalError when relevant doc_ids are not in the index: the file does not fit it."""
    wanted = dict.fromkeys(doc for q in questions for doc in q.relevant)
    unknown = [doc for doc in wanted if target.article(doc) is None]
    if unknown:
        shown = ", ".join(unknown[:_UNKNOWN_SHOWN])
        more = f" and {len(unknown) - _UNKNOWN_SHOWN} more" if len(unknown) > _UNKNOWN_SHOWN else ""
        raise EvalError(
            f"{len(unknown)} of {len(wanted)} relevant doc_ids are not in this index "
            f"({shown}{more}): the eval file does not fit this index"
        )


def run_questions(
    target: EvalTarget,
    questions: Sequence[EvalQuestion],
    *,
    modes: Sequence[Mode],
    k: int = 10,
    answers: bool = False,
    answer_mode: Mode = "hybrid",
    progress: bool = True,
    label: str = "eval",
) -> EvalRun:
    """Retrieve every question in every mode (and answer it, with `answers`)."""
    if not modes:
        raise EvalError("no retrieval mode to evaluate")
    check_relevant_ids(target, questions)
    raw: dict[str, dict[str, tuple[Retrieval, float]]] = {m: {} for m in modes}
    asked: dict[str, tuple[Answer, float]] = {}
    total = len(questions) * (len(modes) + int(answers))
    with tqdm(total=total, desc=label, unit="q", disable=None if progress else True) as bar:
        for mode in modes:
            bar.set_postfix_str(mode)
            for q in questions:
                call = partial(target.retrieve, q.question, history=q.history, mode=mode, k=k)
                raw[mode][q.id] = _timed(q, call)
                bar.update()
        if answers:
            bar.set_postfix_str(f"answers ({answer_mode})")
            for q in questions:
                ask = partial(target.ask, q.question, history=q.history, mode=answer_mode, k=k)
                asked[q.id] = _timed(q, ask)
                bar.update()

    canon = _canonical_map(
        [hit for per_q in raw.values() for r, _ in per_q.values() for hit in r.hits],
        [a for a, _ in asked.values()],
    )
    relevant = {q.id: list(dict.fromkeys(canon.get(d, d) for d in q.relevant)) for q in questions}
    run = EvalRun(list(questions), list(modes), k, relevant, answer_mode=answer_mode)
    for mode in modes:
        run.results[mode] = {
            q.id: _mode_result(*raw[mode][q.id], relevant[q.id], canon, k) for q in questions
        }
    if answers:
        run.answers = {
            q.id: _answer_result(*asked[q.id], q, relevant[q.id], canon) for q in questions
        }
    log.info("evaluated %d questions in modes %s", len(questions), ", ".join(modes))
    return run


def pool_runs(runs: Mapping[str, EvalRun]) -> EvalRun:
    """One run holding every question of `runs` (label -> run of one question file), as if
    they had been one file. Question ids become ``label:id``, so ids may repeat across files.
    The runs must share their modes, k and answer mode."""
    if not runs:
        raise EvalError("no eval run to pool")
    first = next(iter(runs.values()))
    for label, run in runs.items():
        if (run.modes, run.k, run.answer_mode) != (first.modes, first.k, first.answer_mode):
            raise EvalError(f"{label}: ran with other modes, k or answer mode than the rest")
        if (run.answers is None) != (first.answers is None):
            raise EvalError(f"{label}: answers were run for some question files only")
    pooled = EvalRun(
        questions=[],
        modes=list(first.modes),
        k=first.k,
        relevant={},
        results={m: {} for m in first.modes},
        answers={} if first.answers is not None else None,
        answer_mode=first.answer_mode,
    )
    for label, run in runs.items():
        for q in run.questions:
            qid = f"{label}:{q.id}"
            pooled.questions.append(replace(q, id=qid))
            pooled.relevant[qid] = run.relevant[q.id]
            for mode in run.modes:
                pooled.results[mode][qid] = run.results[mode][q.id]
            if pooled.answers is not None and run.answers is not None:
                pooled.answers[qid] = run.answers[q.id]
    return pooled


def _timed(q: EvalQuestion, call: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    try:
        result = call()
    except QuestionError as exc:
        raise EvalError(f"question {q.id}: {exc}") from exc
    return result, (time.perf_counter() - started) * 1000.0


def _canonical_map(hits: Sequence[ArticleHit], answers: Sequence[Answer]) -> dict[str, str]:
    """alias doc_id -> canonical doc_id, from every hit and cited passage seen."""
    canon: dict[str, str] = {}
    groups = [(h.doc_id, h.aliases) for h in hits]
    groups += [(c.passage.doc_id, c.passage.aliases) for a in answers for c in a.citations]
    for doc_id, aliases in groups:
        canon.setdefault(doc_id, doc_id)
        for alias in aliases:
            canon.setdefault(alias, canon[doc_id])
    return canon


def _mode_result(
    retrieval: Retrieval, latency_ms: float, relevant: list[str], canon: dict[str, str], k: int
) -> ModeResult:
    retrieved = list(dict.fromkeys(canon.get(h.doc_id, h.doc_id) for h in retrieval.hits))
    wanted = set(relevant)
    hit_rank = next((i for i, doc in enumerate(retrieved, start=1) if doc in wanted), None)
    return ModeResult(
        retrieved=retrieved,
        hit_rank=hit_rank,
        found_all=bool(relevant) and all_found(retrieved, relevant, k),
        refused=retrieval.refused,
        latency_ms=latency_ms,
    )


def _keyword_recall(answer: Answer, q: EvalQuestion) -> float | None:
    """None for a question without keywords; a non-answer finds none of them."""
    found = keyword_recall(answer.text, q.answer_keywords)
    return 0.0 if found is not None and answer.refused else found


def _answer_result(
    answer: Answer,
    latency_ms: float,
    q: EvalQuestion,
    relevant: list[str],
    canon: dict[str, str],
) -> AnswerResult:
    cited = list(
        dict.fromkeys(canon.get(c.passage.doc_id, c.passage.doc_id) for c in answer.citations)
    )
    return AnswerResult(
        text=answer.text,
        citations=[
            {"n": c.n, "doc_id": canon.get(c.passage.doc_id, c.passage.doc_id), "quote": c.quote}
            for c in answer.citations
        ],
        cited=cited,
        status=answer.status,
        # a non-answer earns nothing, whatever evidence it shows beside the one line
        keyword_recall=_keyword_recall(answer, q) if q.answerable else None,
        citation_precision=(
            citation_precision(cited, relevant) if q.answerable and not answer.refused else None
        ),
        latency_ms=latency_ms,
        notice=answer.notice,
        intent=read_intent(answer.standalone_question or q.question).kind,
    )
