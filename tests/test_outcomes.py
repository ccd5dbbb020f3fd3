"""Three outcomes: answered, not stated, refused. What a question pins down (years, quarters,
names) is parsed, checked against the evidence articles, and the outcome reaches the JSON of
`ask`, the chat (in process and in a real browser) and the streamed answer."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import SEED_QUESTION

from newsdesk.cli import main
from newsdesk.core.types import ArticleHit, DateSpan, Passage
from newsdesk.retriever.constraints import question_constraints, unmet
from newsdesk.retriever.outcomes import Judgement, judge

NOT_STATED_QUESTION = "What did Russia demand of Moldova?"
OUT_OF_RANGE_QUESTION = "What did Russia demand of Ukraine in 2019?"


def parsed(question: str) -> list[tuple[str, str]]:
    return [(c.kind, c.text) for c in question_constraints(question)]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "Who won the 2006 World Cup final in Berlin?",
            [("year", "2006"), ("name", "World Cup"), ("name", "Berlin")],
        ),
        (
            "How did Martina Hingis fare against Marlene Weingartner?",
            [("name", "Martina Hingis"), ("name", "Marlene Weingartner")],
        ),
        ("What did Johnson & Johnson pay?", [("name", "Johnson & Johnson")]),
        ("How much did the Duchy of Cornwall earn?", [("name", "Duchy of Cornwall")]),
        ("Which club won the 2004/05 title?", [("year", "2004/05")]),
        ("What were Q3 profits?", [("quarter", "Q3")]),
        ("How did profits change in the third quarter?", [("quarter", "third quarter")]),
        ("What happened in March?", []),  # a month is a date, not a name
        ("Who is the UK chancellor?", [("name", "UK")]),
        ("What is Gazprom's plan?", [("name", "Gazprom")]),
        (
            "What did Arthur Hailey and Dan O'Herlihy do?",
            [("name", "Arthur Hailey"), ("name", "Dan O'Herlihy")],
        ),
        ("Which firm paid £2005 for it?", []),  # an amount, not a year
        ("Gazprom bid how much?", []),  # the opening word is never read as a name
    ],
)
def test_what_a_question_pins_down(question: str, expected: list[tuple[str, str]]) -> None:
    assert parsed(question) == expected


def test_seasons_name_both_years() -> None:
    [season] = question_constraints("Who won in 2004-05?")
    assert season.values == ("2004", "2005")


def test_what_an_article_must_hold() -> None:
    cs = question_constraints("Who won the 2006 World Cup final in Berlin against Weingartner?")
    text = "Italy beat France in Berlin to win the World Cup."
    assert [c.text for c in unmet(cs, text, "2006-07-09")] == ["Weingartner"]
    assert [c.text for c in unmet(cs, text + " Weingartner watched.", "")] == ["2006"]
    assert unmet(cs, text + " Weingartner watched in 2006.", "") == []
    # a people's adjective honours its place; a surname alone honours a full name
    [italy] = question_constraints("What did the Italian firm say?")
    assert unmet([italy], "Fiat of Italy said so.") == []
    [person] = question_constraints("What did Gillian Shephard say?")
    assert unmet([person], "Mrs Shephard said so.") == []
    assert [c.values for c in question_constraints("Profits in the final quarter?")] == [("4",)]
    assert [c.values for c in question_constraints("Sales in the second quarter?")] == [("2",)]
    [quarter] = question_constraints("What were profits in Q4?")
    assert unmet([quarter], "Profits rose in the final quarter.") == []
    assert unmet([quarter], "Profits rose in the third quarter.") == [quarter]
    # "04" after a slash is 2004 only when it follows a year
    [season] = question_constraints("Who led in 2004?")
    assert unmet([season], "the 2003/04 season") == []
    assert unmet([season], "won 3/04 votes") == [season]


ARTICLES = {  # doc_id -> (title, body, published)
    "a": ("Hingis returns", "Martina Hingis plays in Pattaya.", "2005-01-31"),
    "b": ("Federer wins", "Roger Federer won in Qatar.", "2005-01-08"),
    "c": ("Weingartner out", "Marlene Weingartner lost early.", "2005-02-02"),
}
DATED = DateSpan(date(2005, 1, 1), date(2005, 12, 31), dated=3, articles=3)
UNDATED = DateSpan(None, None, dated=0, articles=3)


def text_of(doc_id: str) -> tuple[str, str] | None:
    if doc_id not in ARTICLES:
        return None
    title, body, published = ARTICLES[doc_id]
    return f"{title}\n{body}", published


def hit(doc_id: str) -> ArticleHit:
    title = ARTICLES[doc_id][0]
    p = Passage(doc_id + "-0", doc_id, f"{title}. Some text.", 0, 20, 0, 1.0, title)
    return ArticleHit(doc_id, 1.0, (p,))


def judged(question: str, *doc_ids: str, span: DateSpan = DATED, **kw: Any) -> Judgement:
    """`judge` over the articles `doc_ids`, ranked in that order, found relevant."""
    hits = [hit(d) for d in doc_ids]
    return judge(question, hits, relevant=True, span=span, article_text=text_of, **kw)


def test_judge_keeps_the_articles_that_honour_the_question() -> None:
    j = judged("How did Martina Hingis do?", "b", "a")
    assert j.status == "answered" and [h.doc_id for h in j.evidence] == ["a"]


def test_judge_says_not_stated_when_no_article_names_what_is_asked() -> None:
    j = judged("How did Hingis do against Kim Clijsters?", "a", "b")
    assert j.status == "not_stated"
    assert "\u201cKim Clijsters\u201d" in j.statement and "Hingis returns" in j.statement
    assert [h.doc_id for h in j.evidence] == ["a", "b"]  # the closest evidence, all of it


def test_a_comparison_may_take_its_names_from_several_articles() -> None:
    j = judged("Who is older, Martina Hingis or Marlene Weingartner?", "a", "c")
    assert j.status == "answered" and len(j.evidence) == 2


def test_a_period_outside_a_dated_archive_is_refused_with_its_span() -> None:
    j = judged("Who won in 2022?", "a")
    assert j.status == "refused" and j.statement == "The archive covers 2005; nothing from 2022."
    # an undated archive cannot say what it covers: the year must be in the evidence instead
    j = judged("Who won in 2022?", "a", span=UNDATED)
    assert j.status == "not_stated" and "2022" in j.statement
    # one year inside the span is enough to look
    assert judged("What changed between 2003 and 2005 for Hingis?", "a").status == "answered"


def test_nothing_relevant_is_refused() -> None:
    question = "What is the boiling point of mercury?"
    j = judge(question, [], relevant=False, span=DATED, article_text=text_of)
    assert j.status == "refused" and "no article" in j.statement


def test_a_common_name_does_not_bind() -> None:
    question = "What did British fans think of Hingis?"
    common = judged(question, "a", term_share=lambda t: 0.4 if t == "british" else 0.001)
    assert common.status == "answered"
    rare = judged(question, "a", term_share=lambda t: 0.001)
    assert rare.status == "not_stated"


# ---------------------------------------------------------------- end to end
def ask_json(index: Path, question: str, capsys: pytest.CaptureFixture[str], *more: str) -> Any:
    capsys.readouterr()
    assert main(["ask", question, "--index", str(index), "--json", *more]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_three_outcomes_through_ask_json(
    sample_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answered = ask_json(sample_index, SEED_QUESTION, capsys)
    assert answered["status"] == "answered" and answered["refused"] is False
    assert answered["citations"] and answered["evidence"] is None

    not_stated = ask_json(sample_index, NOT_STATED_QUESTION, capsys)
    assert not_stated["status"] == "not_stated" and not_stated["refused"] is True
    assert "\u201cMoldova\u201d" in not_stated["answer"]
    assert not_stated["evidence"] and not_stated["citations"]
    for c in not_stated["citations"]:  # the evidence is verbatim and cited
        assert c["quote"] in c["passage"] and f"[{c['n']}]" in not_stated["evidence"]

    out_of_range = ask_json(sample_index, OUT_OF_RANGE_QUESTION, capsys)
    assert out_of_range["status"] == "refused" and out_of_range["refused"] is True
    assert out_of_range["answer"] == "The archive covers 2022-2024; nothing from 2019."
    assert out_of_range["citations"] == []

    off_topic = ask_json(sample_index, "What is the boiling point of mercury?", capsys)
    assert off_topic["status"] == "refused"

    # follow-ups and filters reach every outcome
    follow = ask_json(sample_index, "And of Moldova?", capsys, "--history", SEED_QUESTION)
    assert follow["status"] == "not_stated", follow["standalone_question"]
    filtered = ask_json(sample_index, SEED_QUESTION, capsys, "--source", "IBTimes")
    assert filtered["status"] == "answered"


def test_ask_prints_the_closest_evidence_as_not_an_answer(
    sample_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["ask", NOT_STATED_QUESTION, "--index", str(sample_index)]) == 0
    out = capsys.readouterr().out
    first, rest = out.split("\n", 1)
    assert "does not state the answer" in first
    assert "Closest evidence (not an answer):" in rest and "Sources:" in rest


def test_the_stream_says_not_stated_first(sample_assistant: Any) -> None:
    from newsdesk.core.types import Answer

    items = list(sample_assistant.stream(NOT_STATED_QUESTION))
    final = items[-1]
    assert isinstance(final, Answer) and final.status == "not_stated"
    assert items[0] == final.text  # the one line comes first, before the evidence is read
    assert final.evidence and final.citations
