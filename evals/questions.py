"""Eval question files: Newsdesk JSONL and BEIR folders, read into `EvalQuestion`s.

JSONL (one object a line, as in ../shared/evals/dev.jsonl)::

    {"id": "dev-001", "question": "...", "relevant": ["bbc/business/014.txt"],
     "answer": "...", "answer_keywords": ["90"], "type": "single", "history": ["..."]}

`type` is single | multi | null (a question the archive cannot answer; `relevant` is empty);
when it is missing it follows from the number of relevant doc_ids. `answer`, `answer_keywords`
and `history` (earlier user questions of the conversation) are optional.

BEIR: a folder with ``queries.jsonl`` (``{"_id", "text", "metadata"}`` a line) and
``qrels/test.tsv`` (``query-id <tab> corpus-id <tab> score`` with a header line). Only the
queries named in the qrels are evaluated; corpus ids must be Newsdesk doc_ids. Optional
``metadata`` keys ``answer``, ``answer_keywords`` and ``history`` are honoured.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newsdesk.core.errors import EvalError

log = logging.getLogger(__name__)

QUESTION_TYPES = ("single", "multi", "null")
_MAX_REPORTED = 10  # malformed lines listed in one error


class EvalFileError(EvalError):
    """A question file is missing or malformed. `problems` holds (line number, reason) pairs."""

    def __init__(self, path: Path, problems: list[tuple[int, str]] | str) -> None:
        if isinstance(problems, str):
            problems = [(0, problems)]
        self.path = path
        self.problems = problems
        shown = [f"line {n}: {why}" if n else why for n, why in problems[:_MAX_REPORTED]]
        more = len(problems) - len(shown)
        if more:
            shown.append(f"... and {more} more")
        super().__init__(f"{path}: " + "; ".join(shown))


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    relevant: tuple[str, ...]
    type: str  # single | multi | null
    answer: str = ""
    answer_keywords: tuple[str, ...] = ()
    history: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return self.type != "null"


def load_questions(path: Path | str) -> list[EvalQuestion]:
    """Read a JSONL question file or a BEIR folder. Raises EvalFileError listing every
    malformed line with its number."""
    path = Path(path)
    if path.is_dir():
        questions = load_beir(path)
    elif path.is_file():
        questions = load_jsonl(path)
    else:
        raise EvalFileError(path, "no such file or folder")
    log.info("loaded %d eval questions from %s", len(questions), path)
    return questions


# ------------------------------------------------------------------ JSONL
def load_jsonl(path: Path) -> list[EvalQuestion]:
    questions: list[EvalQuestion] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for number, row in _json_rows(path, problems):
        try:
            question = _question_from_row(row)
        except ValueError as exc:
            problems.append((number, str(exc)))
            continue
        if question.id in seen:
            problems.append(
                (number, f"id {question.id!r} already used on line {seen[question.id]}")
            )
            continue
        seen[question.id] = number
        questions.append(question)
    if problems:
        raise EvalFileError(path, problems)
    if not questions:
        raise EvalFileError(path, "the file holds no questions")
    return questions


def _question_from_row(row: object) -> EvalQuestion:
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    missing = [key for key in ("id", "question", "relevant") if key not in row]
    if missing:
        raise ValueError("missing " + ", ".join(repr(m) for m in missing))
    qid = row["id"]
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid.strip():
        raise ValueError("'id' must be a non-empty string")
    return _make_question(
        qid,
        _text(row, "question", required=True),
        _strings(row, "relevant"),
        row.get("type"),
        answer=_text(row, "answer"),
        keywords=_strings(row, "answer_keywords"),
        history=_strings(row, "history"),
    )


def _make_question(
    qid: str,
    question: str,
    relevant: tuple[str, ...],
    qtype: object,
    *,
    answer: str = "",
    keywords: tuple[str, ...] = (),
    history: tuple[str, ...] = (),
) -> EvalQuestion:
    relevant = tuple(dict.fromkeys(relevant))  # drop repeats, keep order
    if qtype is None:
        qtype = "null" if not relevant else "single" if len(relevant) == 1 else "multi"
    if qtype not in QUESTION_TYPES:
        raise ValueError(f"'type' must be one of {', '.join(QUESTION_TYPES)}, got {qtype!r}")
    if qtype == "null" and relevant:
        raise ValueError("a 'null' question must have no relevant doc_ids")
    if qtype != "null" and not relevant:
        raise ValueError(f"a {qtype!r} question needs at least one relevant doc_id")
    return EvalQuestion(qid, question, relevant, str(qtype), answer, keywords, history)


def _text(row: dict[str, object], key: str, *, required: bool = False) -> str:
    value = row.get(key, "")
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise ValueError(f"{key!r} is empty")
    return value


def _strings(row: dict[str, object], key: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{key!r} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text) of every non-blank line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EvalFileError(path, f"not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise EvalFileError(path, f"cannot be read ({exc.strerror})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _json_rows(path: Path, problems: list[tuple[int, str]]) -> Iterator[tuple[int, object]]:
    """Yield (line number, parsed value) of every JSON line; malformed lines go to `problems`."""
    for number, line in _lines(path):
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((number, f"not valid JSON ({exc.msg} at column {exc.colno})"))


# ------------------------------------------------------------------ BEIR
def load_beir(folder: Path) -> list[EvalQuestion]:
    queries_path = folder / "queries.jsonl"
    qrels_path = folder / "qrels" / "test.tsv"
    for needed in (queries_path, qrels_path):
        if not needed.is_file():
            raise EvalFileError(
                folder, f"a BEIR folder needs queries.jsonl and qrels/test.tsv; {needed} is missing"
            )
    relevant, qrels_order = _read_qrels(qrels_path)
    queries = _read_queries(queries_path)
    unknown = [qid for qid in qrels_order if qid not in queries]
    if unknown:
        raise EvalFileError(
            qrels_path,
            f"{len(unknown)} query ids are not in queries.jsonl (e.g. {', '.join(unknown[:5])})",
        )
    questions: list[EvalQuestion] = []
    for qid in qrels_order:
        number, text, meta = queries[qid]
        try:
            questions.append(
                _make_question(
                    qid,
                    text,
                    tuple(relevant[qid]),
                    None,
                    answer=_text(meta, "answer"),
                    keywords=_strings(meta, "answer_keywords"),
                    history=_strings(meta, "history"),
                )
            )
        except ValueError as exc:
            raise EvalFileError(queries_path, [(number, str(exc))]) from exc
    if not questions:
        raise EvalFileError(qrels_path, "no query has a relevant document (score > 0)")
    return questions


def _read_qrels(path: Path) -> tuple[dict[str, list[str]], list[str]]:
    relevant: dict[str, list[str]] = {}
    problems: list[tuple[int, str]] = []
    for number, line in _lines(path):
        cells = [c.strip() for c in line.split("\t")]
        if number == 1 and cells[0].lower() in ("query-id", "query_id", "qid"):
            continue  # the header line
        if len(cells) != 3 or not cells[0] or not cells[1]:
            problems.append((number, "expected 'query-id <tab> corpus-id <tab> score'"))
            continue
        try:
            score = int(cells[2])
        except ValueError:
            problems.append((number, f"score must be an integer, got {cells[2]!r}"))
            continue
        docs = relevant.setdefault(cells[0], [])
        if score > 0:
            docs.append(cells[1])
    if problems:
        raise EvalFileError(path, problems)
    order = [qid for qid, docs in relevant.items() if docs]
    return relevant, order


def _read_queries(path: Path) -> dict[str, tuple[int, str, dict[str, object]]]:
    queries: dict[str, tuple[int, str, dict[str, object]]] = {}
    problems: list[tuple[int, str]] = []
    for number, row in _json_rows(path, problems):
        if not isinstance(row, dict) or "_id" not in row or "text" not in row:
            problems.append((number, "expected an object with '_id' and 'text'"))
            continue
        text, meta = row["text"], row.get("metadata") or {}
        if not isinstance(text, str) or not text.strip() or not isinstance(meta, dict):
            problems.append((number, "'text' must be a non-empty string, 'metadata' an object"))
            continue
        queries[str(row["_id"])] = (number, text, meta)
    if problems:
        raise EvalFileError(path, problems)
    return queries
