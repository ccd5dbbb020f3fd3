"""The evals package: question files, metrics on a hand-checked case, reports, plot, gates.

The runner is exercised with `ArchiveDouble`, a stand-in with the Assistant's retrieve / ask /
article methods returning real newsdesk.core.types objects. It tests the runner's bookkeeping only;
the end-to-end eval over a real index lives with the CLI tests.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from newsdesk.assistant import Retrieval
from newsdesk.core.errors import EvalError, NewsdeskError
from newsdesk.core.types import Answer, Article, ArticleHit, Citation, Filters, Passage
from newsdesk.evals.cli import EXIT_GATE, EXIT_OK, run_eval
from newsdesk.evals.gate import failures, parse_threshold, parse_thresholds
from newsdesk.evals.metrics import citation_precision, keyword_recall, percentiles
from newsdesk.evals.names import FigureName, figure_names, parse_name
from newsdesk.evals.plot import plot_report
from newsdesk.evals.questions import EvalFileError, EvalQuestion, load_questions
from newsdesk.evals.report import EvalReport, build_report
from newsdesk.evals.runner import run_questions
from newsdesk.evals.tables import format_markdown, format_table

SHARED_EVALS = Path("/work/shared/evals")
LOG2_3 = math.log2(3)


# ------------------------------------------------------------------ the test double
class ArchiveDouble:
    """Answers from fixed tables: rankings[(question, mode)] -> doc_ids best first;
    answers[question] -> (text, cited doc_ids, refused). `aliases` maps a canonical doc_id to
    the duplicates folded into it."""

    def __init__(
        self,
        docs: Sequence[str],
        rankings: dict[tuple[str, str], list[str]],
        answers: dict[str, tuple[str, list[str], bool]] | None = None,
        aliases: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.docs = set(docs)
        self.rankings = rankings
        self.answers = answers or {}
        self.aliases = aliases or {}
        self.calls: list[tuple[str, str, tuple[str, ...], str | None, int | None]] = []

    def _passage(self, doc_id: str) -> Passage:
        text = f"Body of {doc_id}."
        return Passage(
            f"{doc_id}#0", doc_id, text, 0, len(text), 0, 1.0, aliases=self.aliases.get(doc_id, ())
        )

    def article(self, doc_id: str) -> Article | None:
        known = self.docs | {a for group in self.aliases.values() for a in group}
        return Article(doc_id, f"Title {doc_id}", f"Body of {doc_id}.") if doc_id in known else None

    def retrieve(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        mode: str | None = None,
        k: int | None = None,
    ) -> Retrieval:
        self.calls.append(("retrieve", question, tuple(history), mode, k))
        ranked = self.rankings.get((question, mode or "hybrid"), [])[: k or 10]
        hits = tuple(
            ArticleHit(d, 1.0 / (i + 1), (self._passage(d),), self.aliases.get(d, ()))
            for i, d in enumerate(ranked)
        )
        return Retrieval(question, question, Filters(), hits, not hits, 0.001)

    def ask(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        mode: str | None = None,
        k: int | None = None,
    ) -> Answer:
        self.calls.append(("ask", question, tuple(history), mode, k))
        text, cited, refused = self.answers.get(question, ("I cannot answer that.", [], True))
        citations = tuple(Citation(i + 1, self._passage(d), "quote") for i, d in enumerate(cited))
        return Answer(question, question, text, citations, "refused" if refused else "answered")


def q(qid: str, relevant: list[str], qtype: str, keywords: Sequence[str] = ()) -> EvalQuestion:
    return EvalQuestion(qid, f"question {qid}?", tuple(relevant), qtype, "", tuple(keywords))


# The hand-checked case. Relevance is binary, so nDCG@10 = sum(1/log2(rank+1)) / ideal.
QUESTIONS = [
    q("q1", ["a"], "single", ["42", "Printing"]),  # a at rank 2
    q("q2", ["b", "c"], "multi"),  # b at 1, c at 3
    q("q3", ["d"], "single"),  # not retrieved
    q("q4", [], "null"),
    q("q5", ["e_dup"], "single"),  # e_dup is an alias of e, retrieved at 1
    q("q6", ["f", "f_dup", "g"], "multi"),  # f (alias f_dup) at 3, g missing
]
HYBRID = {"q1": ["x", "a", "y"], "q2": ["b", "z", "c"], "q3": ["x", "y"], "q4": ["x"]}
HYBRID |= {"q5": ["e"], "q6": ["x", "y", "f"]}
PERFECT = {"q1": ["a"], "q2": ["b", "c"], "q3": ["d"], "q4": [], "q5": ["e"], "q6": ["f", "g"]}
ANSWERS = {
    "question q1?": ("It was 42 [1][2].", ["a", "x"], False),
    "question q2?": ("B and C [1][2].", ["b", "c"], False),
    "question q3?": ("Not in the archive.", [], True),  # a false refusal
    "question q4?": ("Not in the archive.", [], True),  # a right refusal
}
EXPECTED_HYBRID = {
    "q1": {"hit@1": 0, "hit@5": 1, "recall@10": 1, "mrr@10": 0.5, "ndcg@10": 1 / LOG2_3},
    "q2": {"hit@1": 1, "hit@5": 1, "recall@10": 1, "mrr@10": 1, "ndcg@10": 1.5 / (1 + 1 / LOG2_3)},
    "q3": {"hit@1": 0, "hit@5": 0, "recall@10": 0, "mrr@10": 0, "ndcg@10": 0},
    "q5": {"hit@1": 1, "hit@5": 1, "recall@10": 1, "mrr@10": 1, "ndcg@10": 1},
    # f and f_dup are one article, so there are two relevant articles (f, g)
    "q6": {
        "hit@1": 0,
        "hit@5": 1,
        "recall@10": 0.5,
        "mrr@10": 1 / 3,
        "ndcg@10": 0.5 / (1 + 1 / LOG2_3),
    },
}


def archive() -> ArchiveDouble:
    rankings = {(f"question {k}?", "hybrid"): v for k, v in HYBRID.items()}
    rankings |= {(f"question {k}?", "bm25"): v for k, v in PERFECT.items()}
    docs = ["a", "b", "c", "d", "e", "f", "g", "x", "y", "z"]
    return ArchiveDouble(docs, rankings, ANSWERS, aliases={"e": ("e_dup",), "f": ("f_dup",)})


@pytest.fixture(scope="module")
def report() -> EvalReport:
    run = run_questions(
        archive(), QUESTIONS, modes=["hybrid", "bm25"], answers=True, progress=False
    )
    return build_report(run)


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


# ------------------------------------------------------------------ question files
def test_shared_dev_files_load() -> None:
    dev = load_questions(SHARED_EVALS / "dev.jsonl")
    hard = load_questions(SHARED_EVALS / "hard_dev.jsonl")
    assert len(dev) == 72 and len(hard) == 40
    assert {x.type for x in dev} == {"single", "multi", "null"}
    assert all(not x.relevant for x in dev if x.type == "null")
    followups = [x for x in hard if x.history]
    assert followups and all(isinstance(h, str) for x in followups for h in x.history)


def test_jsonl_fields_and_defaults(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {"id": "1", "question": "Who?", "relevant": ["a"], "answer_keywords": ["Bob"],
             "history": ["Earlier?"], "type": "single", "answer": "Bob"},
            "",
            {"id": 2, "question": "Which two?", "relevant": ["a", "b"]},  # type inferred
            {"id": "3", "question": "Absent?", "relevant": []},
        ],
    )  # fmt: skip
    one, two, three = load_questions(path)
    assert one == EvalQuestion("1", "Who?", ("a",), "single", "Bob", ("Bob",), ("Earlier?",))
    assert (two.id, two.type, two.relevant) == ("2", "multi", ("a", "b"))
    assert three.type == "null" and not three.answerable


def test_jsonl_malformed_lines_are_reported_with_numbers(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"id": "ok", "question": "Fine?", "relevant": ["a"], "type": "single"},
            '{"id": "broken", "question": ',
            "",
            {"id": "no-relevant", "question": "Where?"},
            {"id": "t", "question": "Type?", "relevant": ["a"], "type": "several"},
            {"id": "n", "question": "Null?", "relevant": ["a"], "type": "null"},
            {"id": "ok", "question": "Again?", "relevant": ["a"]},
            ["not", "an", "object"],
        ],
    )
    with pytest.raises(EvalFileError) as info:
        load_questions(path)
    lines = [n for n, _ in info.value.problems]
    assert lines == [2, 4, 5, 6, 7, 8]
    message = str(info.value)
    assert "line 2: not valid JSON" in message
    assert "line 4: missing 'relevant'" in message
    assert "line 5: 'type' must be one of" in message
    assert "line 7: id 'ok' already used on line 1" in message
    assert isinstance(info.value, NewsdeskError)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(EvalFileError, match="no such file"):
        load_questions(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(EvalFileError, match="no questions"):
        load_questions(tmp_path / "empty.jsonl")


def make_beir(folder: Path, qrels: str, queries: list[object] | None = None) -> Path:
    (folder / "qrels").mkdir(parents=True)
    queries = queries or [
        {"_id": "q1", "text": "Who won?", "metadata": {"answer_keywords": ["Bob"]}},
        {"_id": "q2", "text": "Which two?"},
        {"_id": "q3", "text": "Not in the test split"},
    ]
    write_jsonl(folder / "queries.jsonl", queries)
    (folder / "qrels" / "test.tsv").write_text(qrels)
    return folder


def test_beir_folder(tmp_path: Path) -> None:
    qrels = "query-id\tcorpus-id\tscore\nq1\tbbc/a.txt\t1\nq2\tbbc/b.txt\t2\nq2\tbbc/c.txt\t1\n"
    qrels += "q2\tbbc/d.txt\t0\n"  # judged not relevant
    one, two = load_questions(make_beir(tmp_path / "beir", qrels))
    assert one == EvalQuestion("q1", "Who won?", ("bbc/a.txt",), "single", "", ("Bob",))
    assert (two.type, two.relevant) == ("multi", ("bbc/b.txt", "bbc/c.txt"))


def test_beir_malformed(tmp_path: Path) -> None:
    bad_qrels = "query-id\tcorpus-id\tscore\nq1\tbbc/a.txt\t1\nq2 bbc/b.txt 1\nq2\tbbc/c\tyes\n"
    with pytest.raises(EvalFileError) as info:
        load_questions(make_beir(tmp_path / "b1", bad_qrels))
    assert [n for n, _ in info.value.problems] == [3, 4]
    assert "test.tsv" in str(info.value)

    with pytest.raises(EvalFileError, match="not in queries.jsonl.*q9"):
        load_questions(make_beir(tmp_path / "b2", "q9\tbbc/a.txt\t1\n"))

    with pytest.raises(EvalFileError, match="line 2"):
        load_questions(make_beir(tmp_path / "b3", "q1\ta\t1\n", [{"_id": "q1", "text": "x"}, "{"]))

    (tmp_path / "b4").mkdir()
    with pytest.raises(EvalFileError, match="queries.jsonl and qrels/test.tsv"):
        load_questions(tmp_path / "b4")


# ------------------------------------------------------------------ metrics
def test_hand_checked_retrieval_metrics(report: EvalReport) -> None:
    m = report.metrics
    rows = {row.question.id: row for row in report.per_question}
    for qid, expected in EXPECTED_HYBRID.items():
        got = rows[qid].scores["hybrid"]
        for name, value in expected.items():
            assert got[name] == pytest.approx(value), (qid, name)
    for name in ("hit@1", "hit@5", "recall@10", "mrr@10", "ndcg@10"):
        mean = sum(e[name] for e in EXPECTED_HYBRID.values()) / len(EXPECTED_HYBRID)
        assert m[f"hybrid.{name}"] == pytest.approx(mean), name
    assert m["hybrid.hit@1"] == pytest.approx(0.4)
    assert m["hybrid.mrr@10"] == pytest.approx((0.5 + 1 + 0 + 1 + 1 / 3) / 5)
    assert m["hybrid.multi_all@10"] == pytest.approx(0.5)  # q2 yes, q6 no (g missing)
    assert report.question_types["single"] == 3
    assert m["hybrid.single.mrr@10"] == pytest.approx(0.5)
    assert m["hybrid.multi.mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert not [name for name in m if ".null." in name]
    assert m["bm25.ndcg@10"] == pytest.approx(1.0)
    assert m["bm25.multi_all@10"] == 1.0


def test_report_names_are_the_gate_names(report: EvalReport) -> None:
    names = figure_names(report.modes, report.k, answers=True)
    assert list(report.metrics) == [str(n) for n in names]  # the one definition, in order
    for name in names:
        assert parse_name(str(name), k=report.k) == name
    assert str(FigureName("hybrid", "recall@10", "multi")) == "hybrid.multi.recall@10"
    assert report.figure("hybrid.multi.recall@10") == report.metrics["hybrid.multi.recall@10"]


def test_per_question_ranks_and_aliases(report: EvalReport) -> None:
    rows = {row["id"]: row for row in report.to_json()["per_question"]}
    assert rows["q1"]["modes"]["hybrid"]["hit_rank"] == 2
    assert rows["q3"]["modes"]["hybrid"]["hit_rank"] is None
    assert rows["q5"]["modes"]["hybrid"]["hit_rank"] == 1  # found through the alias
    assert rows["q6"]["modes"]["hybrid"]["retrieved"] == ["x", "y", "f"]
    assert "hit@1" not in rows["q4"]["modes"]["hybrid"]  # null: no retrieval metrics


def test_answer_metrics(report: EvalReport) -> None:
    m = report.metrics
    assert m["answers.keyword_recall"] == pytest.approx(0.5)  # q1: "42" found, "Printing" not
    assert m["answers.citation_precision"] == pytest.approx((0.5 + 1.0) / 2)  # q1 a+x, q2 b+c
    assert m["answers.refusal_rate"] == 1.0  # q4
    assert m["answers.false_refusal_rate"] == pytest.approx(3 / 5)  # q3, q5, q6 refused
    assert m["answers.latency_p50_ms"] is not None
    q1 = next(r for r in report.per_question if r.question.id == "q1").answer
    assert q1 is not None and [c["doc_id"] for c in q1.citations] == ["a", "x"]


def test_significance_between_modes(report: EvalReport) -> None:
    sig = report.significance
    assert sig is not None
    pairs = {p.metric: p for p in sig.pairs}
    assert set(pairs) >= {"mrr@10", "ndcg@10"}
    assert pairs["mrr@10"].better == "bm25"
    assert 0 < (pairs["mrr@10"].p_value or 0) < 1


def test_small_metric_functions() -> None:
    assert keyword_recall("Profits rose to HK$327m at  Lenovo", ["lenovo", "327M", "IBM"]) == 2 / 3
    assert keyword_recall("anything", []) is None
    assert citation_precision(["a", "b", "a"], ["a"]) == 0.5
    assert citation_precision([], ["a"]) is None
    assert percentiles([]) == {"p50": None, "p95": None}
    assert percentiles([1.0, 2.0, 3.0, 4.0, 100.0])["p50"] == 3.0


# ------------------------------------------------------------------ runner
def test_runner_passes_history_mode_and_k() -> None:
    follow = EvalQuestion("f1", "And its price?", ("a",), "single", history=("What is A?",))
    double = ArchiveDouble(["a"], {("And its price?", "dense"): ["a"]})
    run = run_questions(double, [follow], modes=["dense"], k=7, answers=True, progress=False)
    assert ("retrieve", "And its price?", ("What is A?",), "dense", 7) in double.calls
    assert ("ask", "And its price?", ("What is A?",), "hybrid", 7) in double.calls
    assert run.results["dense"]["f1"].hit_rank == 1


def test_unknown_relevant_ids_are_an_error() -> None:
    questions = [q("q1", ["a", "missing/1.txt"], "multi"), q("q2", ["missing/2.txt"], "single")]
    double = ArchiveDouble(["a"], {})
    with pytest.raises(EvalError, match="does not fit this index") as info:
        run_questions(double, questions, modes=["hybrid"], progress=False)
    assert "missing/1.txt" in str(info.value) and "missing/2.txt" in str(info.value)
    assert not [c for c in double.calls if c[0] == "retrieve"]  # checked before running


def test_no_results_at_all_scores_zero() -> None:
    run = run_questions(ArchiveDouble(["a"], {}), [q("q1", ["a"], "single")], modes=["bm25"],
                        progress=False)  # fmt: skip
    figures = build_report(run).metrics
    assert figures["bm25.hit@10"] == 0.0 and figures["bm25.ndcg@10"] == 0.0
    assert figures["bm25.multi_all@10"] is None


# ------------------------------------------------------------------ outputs
def test_json_keys_table_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [{"id": x.id, "question": x.question, "relevant": list(x.relevant), "type": x.type,
          "answer_keywords": list(x.answer_keywords)} for x in QUESTIONS],
    )  # fmt: skip
    out = tmp_path / "out"
    code = run_eval(
        archive(),
        path,
        modes=["bm25", "hybrid"],
        k=10,
        answers=True,
        json_out=out / "eval.json",
        markdown_out=out / "eval.md",
        plot_out=None,
        fail_under=[],
        progress=False,
    )
    assert code == EXIT_OK
    data = json.loads((out / "eval.json").read_text())
    assert set(data) == {"files", "pooled"} and list(data["files"]) == ["q.jsonl"]
    report = data["files"]["q.jsonl"]
    assert set(report) == {
        "label", "files", "questions", "question_types", "modes", "k", "answer_mode", "metrics",
        "significance", "per_question",
    }  # fmt: skip
    assert report["questions"] == 6 and report["modes"] == ["bm25", "hybrid"]
    assert report["question_types"] == {"single": 3, "multi": 2, "null": 1}
    metrics = report["metrics"]
    mode_keys = {"hit@1", "hit@5", "hit@10", "recall@10", "mrr@10", "ndcg@10", "multi_all@10"}
    mode_keys |= {"latency_p50_ms", "latency_p95_ms"}
    assert {name for name in metrics if name.count(".") == 1 and name.startswith("hybrid.")} == {
        f"hybrid.{key}" for key in mode_keys
    }
    assert {name for name in metrics if name.startswith("answers.")} == {
        "answers.keyword_recall", "answers.citation_precision", "answers.refusal_rate",
        "answers.false_refusal_rate", "answers.latency_p50_ms", "answers.latency_p95_ms",
        *(f"answers.{i}.{m}" for i in ("quote", "who_said", "timeline")
          for m in ("keyword_recall", "citation_precision")),
    }  # fmt: skip
    # no question here asks for quotes or a timeline: those figures cannot be measured
    assert metrics["answers.timeline.keyword_recall"] is None
    assert "hybrid.multi.recall@10" in metrics and "hybrid.single.hit@1" in metrics
    row = report["per_question"][0]
    assert {"id", "question", "type", "relevant", "modes", "answer"} <= set(row)
    assert {"retrieved", "hit_rank"} <= set(row["modes"]["hybrid"])
    # one file: the pooled figures are that file's
    assert data["pooled"]["metrics"] == metrics and "per_question" not in data["pooled"]

    table = capsys.readouterr().out
    header = next(line for line in table.splitlines() if line.startswith("retrieval"))
    assert header.split() == ["retrieval", "bm25", "hybrid"]
    mrr = next(line for line in table.splitlines() if line.startswith("mrr@10"))
    assert mrr.split()[1:] == ["1.000", f"{metrics['hybrid.mrr@10']:.3f}"]
    assert table.startswith("q.jsonl: 6 questions (3 single, 2 multi, 1 null)")
    assert "pooled" not in table
    markdown = (out / "eval.md").read_text()
    assert "| metric | bm25 | hybrid |" in markdown and "`q3` (hybrid): question q3?" in markdown
    assert "## Retrieval" in markdown and "### By question type" in markdown


def test_plot_is_a_real_png(report: EvalReport, tmp_path: Path) -> None:
    path = plot_report(report, tmp_path / "charts" / "eval.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_table_without_answers_or_second_mode() -> None:
    run = run_questions(archive(), QUESTIONS, modes=["hybrid"], progress=False)
    rep = build_report(run)
    assert rep.answer_mode is None and rep.significance is None
    assert not [name for name in rep.metrics if name.startswith("answers.")]
    assert "answers" not in format_table(rep) and "## Answers" not in format_markdown(rep)


# ------------------------------------------------------------------ gates
def test_gate_parsing() -> None:
    t = parse_threshold("hybrid.mrr@10=0.7")
    assert (t.name, t.minimum) == (FigureName("hybrid", "mrr@10"), 0.7)
    assert (t.name.scope, t.name.metric, t.name.qtype) == ("hybrid", "mrr@10", "")
    assert parse_threshold("hybrid.multi.recall@10=0.5").name.qtype == "multi"
    assert parse_threshold("answers.keyword_recall = 0.5").name.metric == "keyword_recall"
    assert str(parse_threshold("bm25.recall@20=0.9", k=20).name) == "bm25.recall@20"
    for spec, message in [
        ("hybrid.mrr=0.7", "unknown metric 'mrr'"),
        ("hybrid.mrr@10", "expected MODE.METRIC=VALUE"),
        ("hybrid.mrr@10=high", "not a number"),
        ("answers.false_refusal_rate=0.1", "cannot be gated, lower is better"),
        ("answers.precision=0.1", "unknown answer metric"),
        ("hybrid.latency_p50_ms=10", "cannot be gated"),
        ("hybrid.null.mrr@10=0.1", "unknown question type"),
        ("fuzzy.mrr@10=0.1", "unknown mode 'fuzzy'"),
    ]:
        with pytest.raises(EvalError, match=message):
            parse_threshold(spec)


def test_gate_pass_and_fail(report: EvalReport) -> None:
    assert failures(report, parse_thresholds(["hybrid.mrr@10=0.5", "bm25.hit@1=1"])) == []
    failed = failures(report, parse_thresholds(["hybrid.mrr@10=0.6", "answers.keyword_recall=0.9"]))
    assert len(failed) == 2 and failed[0].startswith("hybrid.mrr@10 = 0.5667 is under 0.6")


def test_gate_sets_the_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [{"id": x.id, "question": x.question, "relevant": list(x.relevant), "type": x.type}
         for x in QUESTIONS],
    )  # fmt: skip
    common = dict(k=10, answers=False, json_out=None, markdown_out=None, plot_out=None)
    ok = run_eval(archive(), path, modes=["hybrid"], fail_under=["hybrid.hit@5=0.8"],
                  progress=False, **common)  # fmt: skip
    bad = run_eval(archive(), path, modes=["hybrid"], fail_under=["hybrid.hit@5=0.81"],
                   progress=False, **common)  # fmt: skip
    assert (ok, bad) == (EXIT_OK, EXIT_GATE)
    assert "FAIL hybrid.hit@5 = 0.8000 is under 0.81" in capsys.readouterr().err
    with pytest.raises(EvalError, match="needs --answers"):
        run_eval(archive(), path, modes=["hybrid"], fail_under=["answers.keyword_recall=0.1"],
                 progress=False, **common)  # fmt: skip
    with pytest.raises(EvalError, match="not evaluated"):
        run_eval(archive(), path, modes=["hybrid"], fail_under=["dense.hit@1=0.1"],
                 progress=False, **common)  # fmt: skip
    with pytest.raises(EvalError, match="unknown mode"):
        run_eval(archive(), path, modes=["fuzzy"], progress=False, **common)


# ------------------------------------------------------------------ --k
def test_k_is_the_retrieval_depth_and_the_metric_cut_off() -> None:
    double = archive()
    rep = build_report(run_questions(double, QUESTIONS, modes=["hybrid"], k=2, progress=False))
    assert {call[4] for call in double.calls} == {2}
    assert [name for name in rep.metrics if name.count(".") == 1] == [
        "hybrid.hit@1", "hybrid.hit@2", "hybrid.recall@2", "hybrid.mrr@2", "hybrid.ndcg@2",
        "hybrid.multi_all@2", "hybrid.latency_p50_ms", "hybrid.latency_p95_ms",
    ]  # fmt: skip
    assert not [name for name in rep.metrics if "@10" in name or "@5" in name]
    # The top 2: q1 finds a at 2, q2 finds b (c at 3 is cut), q3 nothing, q5 e, q6 nothing.
    assert rep.metrics["hybrid.mrr@2"] == pytest.approx((0.5 + 1 + 0 + 1 + 0) / 5)
    assert rep.metrics["hybrid.recall@2"] == pytest.approx((1 + 0.5 + 0 + 1 + 0) / 5)
    assert rep.metrics["hybrid.multi_all@2"] == 0.0  # q2 misses c, q6 misses f and g
    lines = format_table(rep).splitlines()
    assert next(line for line in lines if line.startswith("mrr@2")).split()[1:] == ["0.500"]
    assert next(line for line in lines if line.startswith("single (3): ndcg@2"))
    wide = build_report(run_questions(archive(), QUESTIONS, modes=["bm25"], k=20, progress=False))
    assert {"bm25.hit@5", "bm25.hit@20", "bm25.recall@20", "bm25.multi.recall@20"} <= set(
        wide.metrics
    )
    assert wide.metrics["bm25.ndcg@20"] == pytest.approx(1.0)


def test_k_names_what_can_be_gated(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [{"id": x.id, "question": x.question, "relevant": list(x.relevant), "type": x.type}
         for x in QUESTIONS],
    )  # fmt: skip
    common = dict(modes=["hybrid"], k=2, json_out=None, progress=False)
    assert run_eval(archive(), path, fail_under=["hybrid.mrr@2=0.5"], **common) == EXIT_OK
    assert run_eval(archive(), path, fail_under=["hybrid.mrr@2=0.51"], **common) == EXIT_GATE
    double = archive()
    with pytest.raises(EvalError, match="unknown metric 'mrr@10' at k=2"):
        run_eval(double, path, fail_under=["hybrid.mrr@10=0.5"], **common)
    assert not double.calls  # refused before anything runs
    with pytest.raises(EvalError, match="at least 1"):
        run_eval(archive(), path, modes=["hybrid"], k=0, progress=False)


# ------------------------------------------------------------------ several question files
def split_files(folder: Path) -> tuple[Path, Path]:
    """QUESTIONS in two files; the second reuses the first's ids for other questions."""
    rows = [
        {"id": x.id, "question": x.question, "relevant": list(x.relevant), "type": x.type,
         "answer_keywords": list(x.answer_keywords)} for x in QUESTIONS
    ]  # fmt: skip
    second = [{**row, "id": f"q{i}"} for i, row in enumerate(rows[3:], start=1)]
    folder.mkdir(parents=True, exist_ok=True)
    return write_jsonl(folder / "a.jsonl", rows[:3]), write_jsonl(folder / "b.jsonl", second)


def test_several_files_give_a_table_each_and_the_pooled_figures(
    report: EvalReport, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = split_files(tmp_path / "q")
    out = tmp_path / "out"
    code = run_eval(
        archive(),
        [a, b],
        modes=["hybrid", "bm25"],
        answers=True,
        json_out=out / "eval.json",
        markdown_out=out / "eval.md",
        fail_under=["hybrid.mrr@10=0.56"],  # pooled 0.5667; a.jsonl alone is 0.5
        progress=False,
    )
    assert code == EXIT_OK
    data = json.loads((out / "eval.json").read_text())
    assert list(data["files"]) == ["a.jsonl", "b.jsonl"]
    first, second = data["files"]["a.jsonl"], data["files"]["b.jsonl"]
    assert (first["questions"], second["questions"]) == (3, 3)
    assert [r["id"] for r in second["per_question"]] == ["q1", "q2", "q3"]
    assert first["metrics"]["hybrid.mrr@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert second["metrics"]["hybrid.mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    pooled = data["pooled"]
    assert pooled["label"] == "pooled" and pooled["files"] == ["a.jsonl", "b.jsonl"]
    assert pooled["questions"] == 6 and pooled["question_types"] == report.question_types
    assert "per_question" not in pooled
    # Pooling the two files is evaluating their questions as one file.
    for name, value in report.metrics.items():
        if "latency" not in name:
            assert pooled["metrics"][name] == pytest.approx(value, nan_ok=True), name
    assert report.significance is not None
    assert pooled["significance"] == report.significance.to_json()

    table = capsys.readouterr().out
    counts = [line for line in table.splitlines() if "questions (" in line]
    assert [line.split(":")[0] for line in counts] == [
        "a.jsonl", "b.jsonl", "pooled over a.jsonl, b.jsonl"
    ]  # fmt: skip
    assert "6 questions (3 single, 2 multi, 1 null)" in counts[2]
    assert sum(line.startswith("retrieval") for line in table.splitlines()) == 3
    assert sum(line.startswith("answers (hybrid)") for line in table.splitlines()) == 3
    markdown = (out / "eval.md").read_text()
    assert markdown.startswith("# Newsdesk eval: a.jsonl, b.jsonl")
    assert (
        "## a.jsonl" in markdown
        and "## b.jsonl" in markdown
        and "## Pooled over 2 files" in markdown
    )
    assert "`q3` (hybrid): question q3?" in markdown and "### Retrieval" in markdown

    fails = run_eval(archive(), [a, b], modes=["hybrid"], fail_under=["hybrid.mrr@10=0.57"],
                     progress=False)  # fmt: skip
    assert fails == EXIT_GATE
    assert "FAIL hybrid.mrr@10 = 0.5667 is under 0.57" in capsys.readouterr().err


def test_question_files_with_one_name_are_told_apart(tmp_path: Path) -> None:
    a, _ = split_files(tmp_path / "one")
    b, _ = split_files(tmp_path / "two")
    out = tmp_path / "eval.json"
    run_eval(archive(), [a, b, a], modes=["bm25"], json_out=out, progress=False)
    assert list(json.loads(out.read_text())["files"]) == [str(a), str(b)]  # a once
    with pytest.raises(EvalError, match="no question file"):
        run_eval(archive(), [], modes=["bm25"], progress=False)
    missing = tmp_path / "missing.jsonl"
    double = archive()
    with pytest.raises(EvalFileError, match="no such file"):
        run_eval(double, [a, missing], modes=["bm25"], progress=False)
    assert not double.calls  # every file is read before the first question runs


SAMPLE_QUESTIONS = {
    "local.jsonl": [
        {"id": "q1", "question": "What will the new flood walls cost?",
         "relevant": ["local/river-flood-defences.md"], "answer_keywords": ["4.2 million"]},
        {"id": "q2", "question": "Why is the farmers market moving?",
         "relevant": ["local/market.html"]},
        {"id": "q3", "question": "What did the library add during its refurbishment?",
         "relevant": ["local/library-reopens.txt"], "answer_keywords": ["repair cafe"]},
    ],
    "elsewhere.jsonl": [
        {"id": "q1", "question": "What did Russia demand of Ukraine?",
         "relevant": ["world/ibtimes-russia-urges-kyiv-peace-talks.md"]},
        {"id": "q2", "question": "How much did the comet brighten in one night?",
         "relevant": ["science/comet-brightens"], "answer_keywords": ["hundredfold"]},
        {"id": "q3", "question": "Who scored the winning goal in the 1966 World Cup final?",
         "relevant": [], "type": "null"},
    ],
}  # fmt: skip


def newsdesk(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "newsdesk.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ)


def test_eval_command_over_the_sample_archive(sample_index: Path, tmp_path: Path) -> None:
    """`newsdesk eval` end to end: two question files, --k 3, JSON per file and pooled."""
    files = [write_jsonl(tmp_path / name, rows) for name, rows in SAMPLE_QUESTIONS.items()]
    out = tmp_path / "eval.json"
    args = ["eval", "--index", str(sample_index), "--modes", "bm25,hybrid", "--k", "3"]
    for path in files:
        args += ["--questions", str(path)]
    args += ["--answers", "--json", str(out), "--fail-under", "hybrid.hit@3=0.8"]
    done = newsdesk(*args)
    assert done.returncode == 0, done.stderr + done.stdout
    data = json.loads(out.read_text())
    assert list(data["files"]) == ["local.jsonl", "elsewhere.jsonl"]
    for report in data["files"].values():
        assert report["k"] == 3 and report["modes"] == ["bm25", "hybrid"]
        for row in report["per_question"]:
            assert all(len(r["retrieved"]) <= 3 for r in row["modes"].values())
    pooled = data["pooled"]
    assert pooled["questions"] == 6 and pooled["question_types"] == {"single": 5, "null": 1}
    assert pooled["metrics"]["hybrid.hit@3"] >= 0.8 and "hybrid.mrr@10" not in pooled["metrics"]
    hits = [data["files"][n]["metrics"]["hybrid.hit@3"] for n in ("local.jsonl", "elsewhere.jsonl")]
    assert pooled["metrics"]["hybrid.hit@3"] == pytest.approx((3 * hits[0] + 2 * hits[1]) / 5)
    assert "pooled over local.jsonl, elsewhere.jsonl: 6 questions" in done.stdout
    assert next(line for line in done.stdout.splitlines() if line.startswith("mrr@3"))

    bad = newsdesk("eval", "--questions", "x", "--modes", "bm25,fuzzy")
    assert bad.returncode == 2 and "unknown mode(s) fuzzy" in bad.stderr


def test_questions_asking_for_a_list_get_figures_of_their_own(tmp_path: Path) -> None:
    """Quote and timeline questions (as `ask` reads them) are scored apart too, and gated by
    answers.INTENT.METRIC."""
    timeline = "How did the Texaco bankruptcy unfold?"
    quote = "What did Gordon Brown say about pensions?"
    questions = [
        EvalQuestion("t1", timeline, ("a", "b"), "multi", "", ("Chapter 11", "bond")),
        EvalQuestion("p1", quote, ("c",), "single", "", ("pensions",)),
        EvalQuestion("s1", "question s1?", ("d",), "single", "", ("42",)),
    ]
    answers = {
        timeline: ("1987-04-12: Chapter 11 [1]\n1987-04-20: a deal [2]", ["a", "x"], False),
        quote: ("Gordon Brown, 2005-01-01: \u201cpensions rise\u201d [1]", ["c"], False),
        "question s1?": ("It was 42 [1].", ["d"], False),
    }
    rankings = {(x.question, "hybrid"): list(x.relevant) for x in questions}
    double = ArchiveDouble(["a", "b", "c", "d", "x"], rankings, answers)
    report = build_report(run_questions(double, questions, modes=["hybrid"], answers=True))
    assert report.figure("answers.timeline.keyword_recall") == pytest.approx(0.5)
    assert report.figure("answers.timeline.citation_precision") == pytest.approx(0.5)
    assert report.figure("answers.quote.keyword_recall") == pytest.approx(1.0)
    assert report.figure("answers.who_said.keyword_recall") is None
    assert [r.answer.intent for r in report.per_question if r.answer] == [
        "timeline",
        "quote",
        "plain",
    ]
    table = format_table(report)
    assert "timeline (1): keyword_recall" in table and "who_said (" not in table
    assert parse_name("answers.timeline.citation_precision") == FigureName(
        "answers", "citation_precision", "timeline"
    )
    with pytest.raises(EvalError, match="answers.INTENT.METRIC"):
        parse_name("answers.plain.keyword_recall")
    assert failures(report, parse_thresholds(["answers.timeline.keyword_recall=0.5"])) == []
    assert failures(report, parse_thresholds(["answers.timeline.keyword_recall=0.6"]))
