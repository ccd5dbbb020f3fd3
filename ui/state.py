"""What one browser session remembers, and the translation of filter inputs into `Filters`.

A `Session` lives in a `gr.State`, so every browser tab (and every API client) has its own:
concurrent readers never see each other's turns. It holds the questions that count as
history for follow-ups and the rendered chat and sources of each turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from newsdesk.core.errors import QuestionError
from newsdesk.core.types import Filters, check_date_range
from newsdesk.ui import render

MAX_TURNS = 50  # turns kept per session; older ones drop out of the chat and the history


@dataclass(frozen=True)
class Turn:
    number: int  # 1-based, never reused within a session (citation anchors use it)
    question: str  # as asked; used as history only when `answered`
    reply: str  # the assistant's chat message, HTML
    sources: str = ""  # the sources panel section for this turn, HTML ("" when none)
    answered: bool = False  # False for errors: they do not count as conversation history


@dataclass(frozen=True)
class Session:
    turns: tuple[Turn, ...] = ()
    next_number: int = 1

    def history(self) -> list[str]:
        """Earlier questions of this session, oldest first, for follow-up rewriting."""
        return [t.question for t in self.turns if t.answered]

    def add(self, turn: Turn) -> Session:
        return replace(self, turns=(*self.turns, turn)[-MAX_TURNS:], next_number=turn.number + 1)

    def messages(self, pending: tuple[str, str] | None = None) -> list[dict[str, str]]:
        """The chat in Gradio's messages format; `pending` is a (question, reply) in flight."""
        out: list[dict[str, str]] = []
        for t in self.turns:
            out.append({"role": "user", "content": render.question_html(t.question)})
            out.append({"role": "assistant", "content": t.reply})
        if pending is not None:
            out.append({"role": "user", "content": render.question_html(pending[0])})
            out.append({"role": "assistant", "content": pending[1]})
        return out

    def panel(self) -> str:
        return render.sources_panel([(t.number, t.question, t.sources) for t in self.turns])


def parse_date(text: str | None, name: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QuestionError(
            f"the {name} date must look like 2005-03-01; got {render.shorten(text, 40)!r}"
        ) from None


def _names(values: Iterable[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(dict.fromkeys(v for v in values if v))


def parse_filters(
    since: str | None,
    until: str | None,
    sources: Iterable[str] | str | None,
    categories: Iterable[str] | str | None,
    names: Iterable[str] | str | None = None,
) -> Filters:
    """The filter widgets' values as `Filters`; raises QuestionError on a bad date."""
    start, end = parse_date(since, "'since'"), parse_date(until, "'until'")
    check_date_range(start, end)
    return Filters(
        since=start,
        until=end,
        sources=_names(sources),
        categories=_names(categories),
        names=_names(names),
    )
