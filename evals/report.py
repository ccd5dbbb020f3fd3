"""Turn an `EvalRun` into the report: a JSON-ready dict, a text table, a Markdown page.

The JSON keys are a contract (tools and CI gates read them)::

    {"questions": N,
     "modes": {mode: {"hit@1", "hit@5", "hit@10", "recall@10", "mrr@10", "ndcg@10",
                      "multi_all@10", "by_type": {type: {...}}, "latency_ms": {"p50", "p95"}}},
     "answers": {"keyword_recall", "citation_precision", "refusal_rate", "false_refusal_rate",
                 "latency_ms": {"p50", "p95"}} or null,
     "significance": {"test", "max_p", "pairs": [...]} or null,
     "per_question": [...]}

A figure that cannot be measured (no multi questions, no null questions, ...) is null.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from newsdesk.evals.metrics import (
    MULTI_ALL,
    RETRIEVAL_METRICS,
    mean_or_none,
    per_question_scores,
    percentiles,
    significance,
    summarize,
)
from newsdesk.evals.runner import EvalRun

TABLE_METRICS = (*RETRIEVAL_METRICS, MULTI_ALL)


def build_report(run: EvalRun) -> dict[str, Any]:
    answerable = run.answerable
    relevant = {q.id: run.relevant[q.id] for q in answerable}
    types = {q.id: q.type for q in answerable}
    modes: dict[str, Any] = {}
    scores_by_mode: dict[str, dict[str, dict[str, float]]] = {}
    for mode in run.modes:
        results = run.results[mode]
        scores = per_question_scores(run.rankings(mode), relevant)
        scores_by_mode[mode] = scores
        modes[mode] = summarize(
            scores,
            types,
            {qid: results[qid].found_all for qid in types},
            [r.latency_ms for r in results.values()],
        )
    report: dict[str, Any] = {
        "questions": len(run.questions),
        "modes": modes,
        "answers": _answer_summary(run) if run.answers is not None else None,
        "significance": significance({m: run.rankings(m) for m in run.modes}, relevant),
        "per_question": _per_question(run, scores_by_mode),
    }
    return report


def _answer_summary(run: EvalRun) -> dict[str, Any]:
    assert run.answers is not None
    results = [(q, run.answers[q.id]) for q in run.questions]
    return {
        "keyword_recall": mean_or_none(a.keyword_recall for _, a in results),
        "citation_precision": mean_or_none(a.citation_precision for _, a in results),
        "refusal_rate": mean_or_none(float(a.refused) for q, a in results if not q.answerable),
        "false_refusal_rate": mean_or_none(float(a.refused) for q, a in results if q.answerable),
        "latency_ms": percentiles([a.latency_ms for _, a in results]),
    }


def _per_question(
    run: EvalRun, scores_by_mode: dict[str, dict[str, dict[str, float]]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for q in run.questions:
        per_mode: dict[str, Any] = {}
        for mode in run.modes:
            r = run.results[mode][q.id]
            entry: dict[str, Any] = {
                "retrieved": r.retrieved,
                "hit_rank": r.hit_rank,
                "refused": r.refused,
                "latency_ms": r.latency_ms,
            }
            if q.answerable:
                entry.update({name: scores_by_mode[mode][name][q.id] for name in RETRIEVAL_METRICS})
                entry["all_found@10"] = r.found_all
            per_mode[mode] = entry
        row: dict[str, Any] = {
            "id": q.id,
            "question": q.question,
            "type": q.type,
            "history": list(q.history),
            "relevant": list(q.relevant),
            "modes": per_mode,
        }
        if run.answers is not None:
            a = run.answers[q.id]
            row["answer"] = {
                "text": a.text,
                "refused": a.refused,
                "citations": a.citations,
                "keyword_recall": a.keyword_recall,
                "citation_precision": a.citation_precision,
                "latency_ms": a.latency_ms,
                "notice": a.notice,
            }
        rows.append(row)
    return rows


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


# ------------------------------------------------------------------ text
def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _rows(report: dict[str, Any]) -> list[list[str]]:
    """Metric rows with one column per mode."""
    modes = report["modes"]
    rows = [[name, *(_fmt(modes[m][name]) for m in modes)] for name in TABLE_METRICS]
    for p in ("p50", "p95"):
        rows.append([f"latency {p} ms", *(_fmt(modes[m]["latency_ms"][p], 1) for m in modes)])
    return rows


def _type_rows(report: dict[str, Any]) -> list[list[str]]:
    modes = report["modes"]
    types: list[str] = []
    for m in modes:
        types += [t for t in modes[m]["by_type"] if t not in types]
    rows: list[list[str]] = []
    for qtype in types:
        n = max(modes[m]["by_type"].get(qtype, {}).get("questions", 0) for m in modes)
        for name in ("hit@1", "hit@10", "recall@10", "mrr@10", "ndcg@10"):
            cells = [_fmt(modes[m]["by_type"].get(qtype, {}).get(name)) for m in modes]
            rows.append([f"{qtype} ({n}): {name}", *cells])
    return rows


def _answer_rows(report: dict[str, Any]) -> list[list[str]]:
    answers = report["answers"]
    rows = [[name, _fmt(answers[name])] for name in answers if name != "latency_ms"]
    rows += [[f"latency {p} ms", _fmt(answers["latency_ms"][p], 1)] for p in ("p50", "p95")]
    return rows


def _significance_lines(report: dict[str, Any]) -> list[str]:
    sig = report.get("significance")
    if not sig:
        return []
    lines = []
    for pair in sig["pairs"]:
        if pair["significant"]:
            lines.append(
                f"{pair['better']} beats {pair['b'] if pair['better'] == pair['a'] else pair['a']}"
                f" on {pair['metric']} (p={pair['p_value']:.3g})"
            )
    if not lines:
        lines.append(f"no difference between modes is significant at p<={sig['max_p']}")
    return lines


def _counts(report: dict[str, Any]) -> str:
    counts = Counter(row["type"] for row in report["per_question"])
    detail = ", ".join(f"{counts[t]} {t}" for t in ("single", "multi", "null") if counts[t])
    return (
        f"{report['questions']} questions ({detail}); null questions are not in retrieval figures"
    )


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def format_table(report: dict[str, Any], *, answer_mode: str = "hybrid") -> str:
    """The stdout report: modes side by side."""
    modes = list(report["modes"])
    parts = [
        _counts(report),
        "",
        _text_table(["retrieval", *modes], _rows(report)),
        "",
        _text_table(["by type", *modes], _type_rows(report)),
    ]
    if report["answers"] is not None:
        parts += ["", _text_table([f"answers ({answer_mode})", "value"], _answer_rows(report))]
    if report.get("significance"):
        parts += [
            "",
            "significance (paired t-test):",
            *("  " + s for s in _significance_lines(report)),
        ]
    return "\n".join(parts) + "\n"


def format_markdown(report: dict[str, Any], *, title: str = "", answer_mode: str = "hybrid") -> str:
    modes = list(report["modes"])
    parts = [f"# {title or 'Newsdesk eval'}", "", _counts(report) + ".", "", "## Retrieval", ""]
    parts += [_md_table(["metric", *modes], _rows(report)), "", "### By question type", ""]
    parts += [_md_table(["metric", *modes], _type_rows(report))]
    if report["answers"] is not None:
        parts += ["", f"## Answers ({answer_mode} retrieval)", ""]
        parts += [_md_table(["metric", "value"], _answer_rows(report))]
    if report.get("significance"):
        parts += ["", "## Significance (two-sided paired t-test)", ""]
        parts += ["- " + s for s in _significance_lines(report)]
    missed = []
    for row in report["per_question"]:
        modes_missed = [m for m, r in row["modes"].items() if r["hit_rank"] is None]
        if row["type"] != "null" and modes_missed:
            missed.append(f"- `{row['id']}` ({', '.join(modes_missed)}): {row['question']}")
    if missed:
        parts += ["", "## Questions with no relevant article retrieved", "", *missed]
    return "\n".join(parts) + "\n"
