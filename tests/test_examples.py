"""Example questions from real headlines: the seed story and BBC titles."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.retriever.examples import example_questions

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SEED_TITLE = "Russia Now Urges Kyiv To Enter Peace Talks: 'Everything Is Up To Ukraine'"


@pytest.fixture(scope="module")
def bbc_titles() -> list[tuple[str, str]]:
    files = sorted((DATA / "bbc").glob("*/*.txt"))
    if not files:
        pytest.skip(f"shared data missing: {DATA}")
    return [
        (f"bbc/{p.parent.name}/{p.name}", p.read_text(encoding="utf-8").partition("\n")[0])
        for p in files[::40]
    ]


def test_seed_headline_becomes_a_question(bbc_titles) -> None:
    titles = [("seed", SEED_TITLE), *bbc_titles]
    out = example_questions(titles, 4)
    assert out[0] == "What did Russia urge Kyiv to do?"
    assert len(out) == 4


def test_headline_shapes() -> None:
    titles = [
        ("a", "Ebbers denies WorldCom fraud"),
        ("b", "Bad weather hits Nestle sales"),
        ("c", "Shares hit by MS drug suspension"),
        ("d", "India calls for fair trade rules"),
        ("e", "Brit awards for Devon music acts"),
        ("f", "Guantanamo man 'suing government'"),
    ]
    out = example_questions(titles, 10)
    assert out[:3] == [
        "What did Ebbers deny?",
        "Why did Bad weather hit Nestle sales?",
        "What did India call for?",
    ]
    # Not headline-shaped ("hit by" is passive, "awards for" is a noun): quoted fallbacks.
    assert out[3:] == [
        'What is the story behind "Shares hit by MS drug suspension"?',
        'What does the archive say about "Brit awards for Devon music acts"?',
        "What is the story behind \"Guantanamo man 'suing government'\"?",
    ]


def test_common_words_go_lower_case() -> None:
    titles = [("a", "Bad weather hits Nestle sales"), ("b", "Fans face bad news")]
    assert example_questions(titles, 1) == ["Why did bad weather hit Nestle sales?"]


def test_deterministic_distinct_and_bounded(bbc_titles) -> None:
    first = example_questions(bbc_titles, 6)
    assert first == example_questions(list(bbc_titles), 6)
    assert len(first) == 6 == len(set(first))
    assert all(q.endswith("?") for q in first)
    assert all(len(q.split()) <= 20 for q in first)
    assert example_questions(bbc_titles, 0) == []
    assert example_questions([], 4) == []


def test_duplicate_titles_give_one_question() -> None:
    titles = [
        ("a", "Yukos loses US bankruptcy battle"),
        ("b", "Yukos loses US bankruptcy battle"),
        ("c", "Google launches TV search service"),
    ]
    assert example_questions(titles, 5) == [
        "Why did Yukos lose US bankruptcy battle?",
        "Why did Google launch TV search service?",
    ]
