"""Date words -> publication-date filters, relative to the archive's latest date."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.core.types import Filters
from newsdesk.retriever.dates import apply_date_words, date_phrases, describe, reported_within

TODAY = date(2005, 4, 15)  # a Friday
D = date


@pytest.mark.parametrize(
    "question, since, until",
    [
        ("What happened to Yukos in 2005?", D(2005, 1, 1), D(2005, 12, 31)),
        ("How did the euro do during 2004?", D(2004, 1, 1), D(2004, 12, 31)),
        ("What did Blair say in March 2005?", D(2005, 3, 1), D(2005, 3, 31)),
        ("March 2005 car sales", D(2005, 3, 1), D(2005, 3, 31)),
        ("Oil prices in February of 2005", D(2005, 2, 1), D(2005, 2, 28)),
        ("Who resigned on 3 March 2005?", D(2005, 3, 3), D(2005, 3, 3)),
        ("What happened on March 3, 2005?", D(2005, 3, 3), D(2005, 3, 3)),
        ("News on 2005-02-14", D(2005, 2, 14), D(2005, 2, 14)),
        ("What did Brown say last March?", D(2005, 3, 1), D(2005, 3, 31)),
        ("What did Brown say last April?", D(2004, 4, 1), D(2004, 4, 30)),
        ("What did Brown say in April?", D(2005, 4, 1), D(2005, 4, 15)),
        ("Strikes in September", D(2004, 9, 1), D(2004, 9, 30)),
        ("Deals since 2004", D(2004, 1, 1), None),
        ("Deals since June 2004", D(2004, 6, 1), None),
        ("Films released before 2005", None, D(2004, 12, 31)),
        ("Mergers after June 2004", D(2004, 7, 1), None),
        ("Sales until May 2005", None, D(2005, 5, 31)),
        ("Between 2003 and 2004, what happened?", D(2003, 1, 1), D(2004, 12, 31)),
        ("From March to June 2004", D(2004, 3, 1), D(2004, 6, 30)),
        ("How did it go from March to late April 2004?", D(2004, 3, 1), D(2004, 4, 30)),
        # a part of a month is the whole month: the reports of mid-March come out later
        ("between late March and mid-April 2004", D(2004, 3, 1), D(2004, 4, 30)),
        ("from early March to mid June 2004", D(2004, 3, 1), D(2004, 6, 30)),
        ("What happened in late February 2005?", D(2005, 2, 1), D(2005, 2, 28)),
        ("What happened this year?", D(2005, 1, 1), TODAY),
        ("Who won last year?", D(2004, 1, 1), D(2004, 12, 31)),
        ("this month's figures", D(2005, 4, 1), TODAY),
        ("What happened last month?", D(2005, 3, 1), D(2005, 3, 31)),
        ("What happened yesterday?", D(2005, 4, 14), D(2005, 4, 14)),
        ("What happened last week?", D(2005, 4, 4), D(2005, 4, 10)),
        ("In the last 10 days", D(2005, 4, 5), TODAY),
        ("in the last three weeks", D(2005, 3, 25), TODAY),
        ("over the past two months", D(2005, 2, 15), TODAY),
        ("in the past year", D(2004, 4, 15), TODAY),
        ("in the last few days", D(2005, 4, 12), TODAY),
        ("music in the 1990s", D(1990, 1, 1), D(1999, 12, 31)),
        ("since 2004 and before June 2005", D(2004, 1, 1), D(2005, 5, 31)),
    ],
)
def test_date_words(question: str, since: date | None, until: date | None) -> None:
    filters, _ = apply_date_words(question, Filters(), TODAY)
    assert (filters.since, filters.until) == (since, until)


@pytest.mark.parametrize(
    "question",
    [
        "Why is Telegraph cutting 2005 jobs?",
        "The firm cut 2,005 jobs",
        "Marsh cuts 2,500 jobs",
        "Is the essay limit 1500 words?",
        "How much is the £2005 fee?",
        "Who won the 2004-05 season title?",
        "What did the 2004 Games cost?",
        "What did Russia demand of Ukraine?",
        "It may rise again",
        "Is 2100m the record?",
    ],
)
def test_numbers_that_are_not_dates(question: str) -> None:
    filters, recency = apply_date_words(question, Filters(), TODAY)
    assert filters == Filters()
    assert not recency
    assert date_phrases(question) == []


@pytest.mark.parametrize(
    "question, recent",
    [
        ("What is the latest on Yukos?", True),
        ("the most recent Fiat news", True),
        ("newest gadgets", True),
        ("What happened this week?", True),
        ("What has Blair said recently?", True),
        ("What did Blair say in 2004?", False),
        ("What did Blair say?", False),
    ],
)
def test_recency(question: str, recent: bool) -> None:
    assert apply_date_words(question, Filters(), TODAY)[1] is recent


def test_explicit_filters_win() -> None:
    mine = Filters(since=D(2004, 6, 1), until=D(2004, 6, 30), sources=("bbc",))
    filters, recency = apply_date_words("What is the latest news in 2005?", mine, TODAY)
    assert filters == mine
    assert recency


def test_other_filters_are_kept() -> None:
    mine = Filters(sources=("bbc",), categories=("business",))
    filters, _ = apply_date_words("Profits in 2004", mine, TODAY)
    assert filters.sources == ("bbc",) and filters.categories == ("business",)
    assert filters.since == D(2004, 1, 1)


def test_relative_dates_follow_today() -> None:
    filters, _ = apply_date_words("What happened last year?", Filters(), D(2024, 11, 28))
    assert (filters.since, filters.until) == (D(2023, 1, 1), D(2023, 12, 31))
    filters, _ = apply_date_words("last week", Filters(), D(2024, 11, 25))  # a Monday
    assert (filters.since, filters.until) == (D(2024, 11, 18), D(2024, 11, 24))


def test_impossible_day_is_ignored() -> None:
    filters, _ = apply_date_words("What happened on 31 February 2005?", Filters(), TODAY)
    assert filters == Filters()


def test_date_phrases() -> None:
    assert date_phrases("How did Apple do in March 2005 and since 2004?") == [
        "in March 2005",
        "since 2004",
    ]
    assert date_phrases("What happened in the last 3 weeks?") == ["in the last 3 weeks"]


def test_describe() -> None:
    assert describe(Filters()) == "all articles"
    assert (
        describe(Filters(since=D(2005, 3, 1), until=D(2005, 3, 31)))
        == "published 2005-03-01 to 2005-03-31"
    )
    assert describe(Filters(since=D(2004, 1, 1))) == "published since 2004-01-01"
    assert describe(Filters(until=D(2004, 12, 31))) == "published until 2004-12-31"
    assert describe(Filters(since=D(2005, 4, 14), until=D(2005, 4, 14))) == (
        "published on 2005-04-14"
    )
    assert describe(Filters(sources=("bbc", "ibtimes"), categories=("tech",))) == (
        "sources: bbc, ibtimes; categories: tech"
    )


_DATE_WORDS = [
    *["in", "on", "since", "before", "after", "until", "between", "and", "from", "to"],
    *["the", "last", "past", "this", "year", "week", "month", "days", "March", "May"],
    *["June", "2005", "1999", "31", "3rd", "of", ",", "-", "2004-02-30", "?"],
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(_DATE_WORDS), max_size=12).map(" ".join),
    st.dates(min_value=D(1950, 1, 1), max_value=D(2090, 12, 31)),
)
def test_any_wording_gives_a_sane_range(question: str, today: date) -> None:
    filters, _ = apply_date_words(question, Filters(), today)
    if filters.since and filters.until:
        assert filters.since <= filters.until
    describe(filters)


@pytest.mark.parametrize(
    "question, until",
    [
        ("What was TWA's March 1987 load factor?", D(1987, 4, 15)),  # half a month after
        ("What did OPEC decide in March 1987?", D(1987, 4, 15)),
        ("What happened on 3 March 2005?", D(2005, 3, 4)),  # a day: the next day's papers
        ("How did Fiat do in 2004?", D(2005, 1, 31)),  # a year: a month at most
        ("What did Fiat say in late March 2005?", D(2005, 4, 15)),  # late March: the month
        ("What happened between March and mid-April 1987?", D(1987, 4, 30)),  # its own bound
        ("What did Fiat say before 2005?", D(2004, 12, 31)),
    ],
)
def test_news_of_a_period_is_looked_for_after_it_too(question: str, until: date) -> None:
    read, _ = apply_date_words(question, Filters(), TODAY)
    searched = reported_within(question, read)
    assert searched.until == until
    assert searched.since == read.since
    assert reported_within(question, Filters()) == Filters()  # nothing read, nothing added
