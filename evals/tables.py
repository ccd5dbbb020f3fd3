"""The eval report as text tables (stdout) and as a Markdown page: modes side by side, one
block per question file, then the pooled figures when there are several files."""

from __future__ import annotations

from collections import Counter

from newsdesk.evals.names import (
    ANSWER_METRICS,
    ANSWERS,
    INTENT_METRICS,
    INTENTS,
    LATENCY,
    TYPES,
    FigureName,
    mode_metrics,
)
from newsdesk.evals.report import POOLED, EvalReport, EvalSummary


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _rows(report: EvalReport) -> list[list[str]]:
    """Metric rows with one column per mode."""
    rows = []
    for name in mode_metrics(report.k):
        label, digits = (name, 3) if name not in LATENCY else (_latency_label(name), 1)
        rows.append(
            [label, *(_fmt(report.figure(FigureName(m, name)), digits) for m in report.modes)]
        )
    return rows


def _latency_label(name: str) -> str:
    return "latency " + name.removeprefix("latency_").removesuffix("_ms") + " ms"  # p50 ms


def _type_rows(report: EvalReport) -> list[list[str]]:
    k = report.k
    names = dict.fromkeys(("hit@1", f"hit@{k}", f"recall@{k}", f"mrr@{k}", f"ndcg@{k}"))
    rows: list[list[str]] = []
    for qtype in TYPES:
        n = report.question_types.get(qtype, 0)
        if not n:
            continue
        for name in names:
            cells = [_fmt(report.figure(FigureName(m, name, qtype))) for m in report.modes]
            rows.append([f"{qtype} ({n}): {name}", *cells])
    return rows


def _answer_rows(report: EvalReport) -> list[list[str]]:
    rows = [[name, _fmt(report.figure(FigureName(ANSWERS, name)))] for name in ANSWER_METRICS]
    rows += [[_latency_label(n), _fmt(report.figure(FigureName(ANSWERS, n)), 1)] for n in LATENCY]
    asked = Counter(
        row.answer.intent
        for row in report.per_question
        if row.answer is not None and row.question.answerable
    )
    for intent in INTENTS:  # listed answers (quotes, timelines), when the file holds such
        if asked[intent]:
            rows += [
                [
                    f"{intent} ({asked[intent]}): {m}",
                    _fmt(report.figure(FigureName(ANSWERS, m, intent))),
                ]
                for m in INTENT_METRICS
            ]
    return rows


def _significance_lines(report: EvalReport) -> list[str]:
    sig = report.significance
    if sig is None:
        return []
    lines = [
        f"{p.better} beats {p.worse} on {p.metric} (p={p.p_value:.3g})"
        for p in sig.pairs
        if p.significant and p.p_value is not None
    ]
    return lines or [f"no difference between modes is significant at p<={sig.max_p}"]


def _counts(report: EvalReport, *, label: bool = True) -> str:
    detail = ", ".join(f"{n} {t}" for t, n in report.question_types.items())
    what = f"pooled over {', '.join(report.files)}" if report.label == POOLED else report.label
    counts = f"{report.questions} questions ({detail}); null questions are not in retrieval figures"
    return f"{what}: {counts}" if what and label else counts


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


def format_table(report: EvalReport) -> str:
    """One report as text: modes side by side."""
    modes = list(report.modes)
    parts = [
        _counts(report),
        "",
        _text_table(["retrieval", *modes], _rows(report)),
        "",
        _text_table(["by type", *modes], _type_rows(report)),
    ]
    if report.answer_mode is not None:
        header = [f"answers ({report.answer_mode})", "value"]
        parts += ["", _text_table(header, _answer_rows(report))]
    if report.significance is not None:
        lines = ["  " + s for s in _significance_lines(report)]
        parts += ["", "significance (paired t-test):", *lines]
    return "\n".join(parts) + "\n"


def format_tables(summary: EvalSummary) -> str:
    """The stdout report: a block per question file, then the pooled block if several."""
    blocks = [format_table(r) for r in summary.reports]
    if len(summary.reports) > 1:
        blocks.append(format_table(summary.pooled))
    return "\n\n".join(blocks)


def _md_report(report: EvalReport, level: int, *, missed: bool = True) -> list[str]:
    h = "#" * level
    modes = list(report.modes)
    parts = [_counts(report, label=level == 2) + ".", "", f"{h} Retrieval", ""]
    parts += [_md_table(["metric", *modes], _rows(report)), "", f"{h}# By question type", ""]
    parts += [_md_table(["metric", *modes], _type_rows(report))]
    if report.answer_mode is not None:
        parts += ["", f"{h} Answers ({report.answer_mode} retrieval)", ""]
        parts += [_md_table(["metric", "value"], _answer_rows(report))]
    if report.significance is not None:
        parts += ["", f"{h} Significance (two-sided paired t-test)", ""]
        parts += ["- " + s for s in _significance_lines(report)]
    lines = []
    for row in report.per_question if missed else ():
        modes_missed = [m for m, r in row.modes.items() if r.hit_rank is None]
        if row.question.answerable and modes_missed:
            q = row.question
            lines.append(f"- `{q.id}` ({', '.join(modes_missed)}): {q.question}")
    if lines:
        parts += ["", f"{h} Questions with no relevant article retrieved", "", *lines]
    return parts


def format_markdown(summary: EvalSummary | EvalReport, *, title: str = "") -> str:
    """A Markdown page: one file's report as sections, several files as a section each."""
    if isinstance(summary, EvalReport):
        summary = EvalSummary((summary,), summary)
    parts = [f"# {title or 'Newsdesk eval'}", ""]
    if len(summary.reports) == 1:
        parts += _md_report(summary.reports[0], 2)
    else:
        for report in summary.reports:
            parts += [f"## {report.label}", "", *_md_report(report, 3), ""]
        parts += [f"## Pooled over {len(summary.reports)} files", ""]
        parts += _md_report(summary.pooled, 3, missed=False)
    return "\n".join(parts) + "\n"
