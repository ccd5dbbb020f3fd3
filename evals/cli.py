"""`newsdesk eval`: the entry point newsdesk/cli.py calls. Prints the table to stdout."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from newsdesk.core.config import Settings
from newsdesk.core.errors import EvalError
from newsdesk.evals.gate import check_applicable, failures, parse_thresholds
from newsdesk.evals.questions import load_questions
from newsdesk.evals.report import build_report, format_markdown, format_table, write_json
from newsdesk.evals.runner import EvalTarget, run_questions

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_GATE = 3  # same as newsdesk.cli.EXIT_GATE
MODES: tuple[str, ...] = get_args(Settings.model_fields["mode"].annotation)


def run_eval(
    assistant: EvalTarget,
    questions_path: Path | str,
    *,
    modes: Sequence[str] = ("bm25", "dense", "hybrid"),
    k: int = 10,
    answers: bool = False,
    json_out: Path | None = None,
    markdown_out: Path | None = None,
    plot_out: Path | None = None,
    fail_under: Sequence[str] = (),
    answer_mode: str = "hybrid",
    progress: bool = True,
) -> int:
    """Run the eval, print the table, write the requested files; return the exit code
    (EXIT_GATE when a --fail-under gate fails). Raises EvalError (a NewsdeskError) when the
    eval cannot run: bad arguments, a malformed question file, doc_ids not in the index."""
    modes = list(dict.fromkeys(modes))
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise EvalError(f"unknown mode(s) {', '.join(bad) or '(none)'}; use {', '.join(MODES)}")
    if k < 1:
        raise EvalError(f"--k must be at least 1, got {k}")
    thresholds = parse_thresholds(fail_under)
    check_applicable(thresholds, modes, answers)
    questions = load_questions(questions_path)

    run = run_questions(
        assistant,
        questions,
        modes=modes,
        k=k,
        answers=answers,
        answer_mode=answer_mode,
        progress=progress,
    )
    report = build_report(run)
    sys.stdout.write(format_table(report, answer_mode=answer_mode))
    sys.stdout.flush()
    if json_out is not None:
        write_json(report, json_out)
    if markdown_out is not None:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        title = f"Newsdesk eval: {Path(questions_path).name}"
        markdown_out.write_text(format_markdown(report, title=title, answer_mode=answer_mode))
    if plot_out is not None:
        from newsdesk.evals.plot import plot_report

        plot_report(report, plot_out, title=f"Retrieval on {Path(questions_path).name}")

    failed = failures(report, thresholds)
    for line in failed:
        print(f"newsdesk eval: FAIL {line}", file=sys.stderr)
    if thresholds and not failed:
        log.info("all %d --fail-under gates passed", len(thresholds))
    return EXIT_GATE if failed else EXIT_OK
