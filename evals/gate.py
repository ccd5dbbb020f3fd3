"""`--fail-under` gates: `NAME=VALUE`, where NAME is a figure of the report (evals/names.py).

Examples: ``hybrid.mrr@10=0.7``, ``bm25.hit@10=0.9``, ``hybrid.multi.recall@10=0.6`` (one
question type), ``answers.keyword_recall=0.5``. Only figures where higher is better can be gated.
With several question files the gates hold the pooled figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from newsdesk.core.errors import EvalError
from newsdesk.evals.names import ANSWERS, FigureName, parse_name
from newsdesk.evals.report import EvalReport


@dataclass(frozen=True)
class Threshold:
    spec: str  # as given, e.g. "hybrid.mrr@10=0.7"
    name: FigureName
    minimum: float


def parse_threshold(spec: str, *, k: int = 10) -> Threshold:
    """A gate on a figure of an eval at depth k; EvalError for anything else."""
    text, sep, value = spec.partition("=")
    if not sep:
        raise EvalError(
            f"--fail-under {spec!r}: expected MODE.METRIC=VALUE or answers.METRIC=VALUE, "
            "e.g. hybrid.mrr@10=0.7"
        )
    try:
        name = parse_name(text, k=k)
    except EvalError as exc:
        raise EvalError(f"--fail-under {spec!r}: {exc}") from None
    if not name.higher_is_better:
        raise EvalError(f"--fail-under {spec!r}: {name} cannot be gated, lower is better")
    try:
        minimum = float(value)
    except ValueError:
        raise EvalError(f"--fail-under {spec!r}: {value.strip()!r} is not a number") from None
    if not math.isfinite(minimum):
        raise EvalError(f"--fail-under {spec!r}: the threshold must be a finite number")
    return Threshold(spec, name, minimum)


def parse_thresholds(specs: Sequence[str], *, k: int = 10) -> list[Threshold]:
    return [parse_threshold(s, k=k) for s in specs]


def check_applicable(thresholds: Sequence[Threshold], modes: Sequence[str], answers: bool) -> None:
    """Raise EvalError when a gate names a mode not evaluated, or answers without --answers."""
    for t in thresholds:
        if t.name.scope == ANSWERS and not answers:
            raise EvalError(f"--fail-under {t.spec!r} needs --answers")
        if t.name.scope != ANSWERS and t.name.scope not in modes:
            raise EvalError(
                f"--fail-under {t.spec!r}: mode {t.name.scope!r} is not evaluated "
                f"(modes: {', '.join(modes)})"
            )


def failures(report: EvalReport, thresholds: Sequence[Threshold]) -> list[str]:
    """One line per gate that failed; a figure that could not be measured fails too."""
    failed: list[str] = []
    for t in thresholds:
        value = report.figure(t.name)
        if value is None:
            failed.append(f"{t.name} could not be measured (no questions of that kind)")
        elif value < t.minimum:
            failed.append(f"{t.name} = {value:.4f} is under {t.minimum:g}")
    return failed


def prefixed_failures(
    prefix: str, known: Sequence[str], values: Mapping[str, float], gates: Sequence[str]
) -> list[str]:
    """The `PREFIX.METRIC=VALUE` gates (`quotes.precision=0.7`) that `values` fall short of;
    EvalError for a metric not in `known` or a value that is not a number. A known metric
    with no value (nothing of that kind was labelled) fails its gate."""
    failed: list[str] = []
    for gate in gates:
        name, _, value = gate.partition("=")
        metric = name.strip().removeprefix(f"{prefix}.")
        if metric not in known:
            listed = ", ".join(f"{prefix}.{m}" for m in known)
            raise EvalError(f"unknown {prefix} metric {name!r}; use {listed}")
        try:
            floor = float(value)
        except ValueError as exc:
            raise EvalError(f"{gate!r}: the value must be a number") from exc
        got = values.get(metric)
        if got is None or got < floor:
            shown = f"{got:.3f}" if got is not None else "n/a"
            failed.append(f"{prefix}.{metric} = {shown} < {floor}")
    return failed
