"""`newsdesk eval`: the entry point newsdesk/cli.py calls. Prints the tables to stdout."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeGuard

from newsdesk.core.errors import EvalError
from newsdesk.core.types import MODES, Mode
from newsdesk.evals.gate import check_applicable, failures, parse_thresholds
from newsdesk.evals.questions import EvalQuestion, load_questions
from newsdesk.evals.report import summarize, write_json
from newsdesk.evals.runner import EvalRun, EvalTarget, run_questions
from newsdesk.evals.tables import format_markdown, format_tables

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_GATE = 3  # same as newsdesk.cli.EXIT_GATE
DEFAULT_MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")  # the two halves, then the fusion


def is_mode(name: str) -> TypeGuard[Mode]:
    return name in MODES


def checked_modes(modes: Sequence[str]) -> list[Mode]:
    """The modes in the order given, once each; EvalError naming any unknown one."""
    wanted = list(dict.fromkeys(modes))
    good = [m for m in wanted if is_mode(m)]
    if not wanted or len(good) < len(wanted):
        bad = [m for m in wanted if not is_mode(m)]
        raise EvalError(f"unknown mode(s) {', '.join(bad) or '(none)'}; use {', '.join(MODES)}")
    return good


def labelled(paths: Sequence[Path]) -> dict[str, Path]:
    """A label for each question file: its name, or the path as given when names repeat."""
    paths = list(dict.fromkeys(paths))
    names = [p.name for p in paths]
    return {(p.name if names.count(p.name) == 1 else str(p)): p for p in paths}


def run_eval(
    assistant: EvalTarget,
    questions: Path | str | Sequence[Path | str],
    *,
    modes: Sequence[str] = DEFAULT_MODES,
    k: int = 10,
    answers: bool = False,
    json_out: Path | None = None,
    markdown_out: Path | None = None,
    plot_out: Path | None = None,
    fail_under: Sequence[str] = (),
    answer_mode: Mode = "hybrid",
    progress: bool = True,
) -> int:
    """Run the eval over one or more question files, print a table per file (and the pooled
    figures over all of them), write the requested files; return the exit code (EXIT_GATE
    when a --fail-under gate fails on the pooled figures). Retrieval goes k articles deep and
    the metrics are cut at k. Raises EvalError (a NewsdeskError) when the eval cannot run:
    bad arguments, a malformed question file, doc_ids not in the index."""
    given = [questions] if isinstance(questions, str | Path) else list(questions)
    if not given:
        raise EvalError("no question file to evaluate")
    checked = checked_modes(modes)
    if k < 1:
        raise EvalError(f"--k must be at least 1, got {k}")
    thresholds = parse_thresholds(fail_under, k=k)
    check_applicable(thresholds, checked, answers)
    files = labelled([Path(p) for p in given])
    question_sets: dict[str, list[EvalQuestion]] = {
        label: load_questions(path) for label, path in files.items()
    }  # every file is read (and checked) before the first question runs

    runs: dict[str, EvalRun] = {}
    for label, qs in question_sets.items():
        runs[label] = run_questions(
            assistant,
            qs,
            modes=checked,
            k=k,
            answers=answers,
            answer_mode=answer_mode,
            progress=progress,
            label=label,
        )
    summary = summarize(runs)
    sys.stdout.write(format_tables(summary))
    sys.stdout.flush()
    title = ", ".join(files)
    if json_out is not None:
        write_json(summary, json_out)
    if markdown_out is not None:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        markdown_out.write_text(format_markdown(summary, title=f"Newsdesk eval: {title}"))
    if plot_out is not None:
        from newsdesk.evals.plot import plot_report

        plot_report(summary.pooled, plot_out, title=f"Retrieval on {title}")

    failed = failures(summary.pooled, thresholds)
    for line in failed:
        print(f"newsdesk eval: FAIL {line}", file=sys.stderr)
    if thresholds and not failed:
        log.info("all %d --fail-under gates passed", len(thresholds))
    return EXIT_GATE if failed else EXIT_OK
