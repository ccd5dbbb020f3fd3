"""What a question asks for, read from its words: quotes, a timeline, who said it, or plain."""

from __future__ import annotations

import pytest

from newsdesk.retriever.intent import Intent, read_intent


@pytest.mark.parametrize(
    ("question", "speaker", "topic"),
    [
        ("What did Peskov say about Ukraine?", "Peskov", "Ukraine"),
        ("What has Gordon Brown said about pensions?", "Gordon Brown", "pensions"),
        ("what have ministers said on tuition fees", "ministers", "tuition fees"),
        ("What did Mr Blair say?", "Mr Blair", None),
        ("Show me quotes from Tony Blair about Iraq", "Tony Blair", "Iraq"),
        ("Comments by Michael Howard on immigration?", "Michael Howard", "immigration"),
    ],
)
def test_a_question_after_someone_s_words_names_the_speaker_and_topic(
    question: str, speaker: str, topic: str | None
) -> None:
    assert read_intent(question) == Intent("quote", speaker=speaker, topic=topic)


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("How did the Yukos affair unfold?", "the Yukos affair"),
        ("timeline of the Texaco-Pennzoil dispute", "the Texaco-Pennzoil dispute"),
        ("Give me a chronology of the Rover collapse.", "the Rover collapse"),
        ("How has the row over fees developed", "the row over fees"),
        (
            "How did the fight among TWA, USAir and Piedmont unfold in early March 1987?",
            "the fight among TWA, USAir and Piedmont in early March 1987",
        ),
    ],
)
def test_a_question_after_how_a_story_went_is_a_timeline(question: str, topic: str) -> None:
    assert read_intent(question) == Intent("timeline", topic=topic)


def test_who_said_a_quotation_asks_for_its_speaker() -> None:
    assert read_intent("Who said 'everything is up to Ukraine'?") == Intent(
        "who_said", phrase="everything is up to Ukraine"
    )


@pytest.mark.parametrize(
    "question",
    [
        "What did Russia demand of Ukraine?",
        # a second question after the first: a list of quotes would answer half of it
        "What did Musharraf say about veiled women, and where were the lost files found?",
        # a description or a clause, not a name a reader types
        "What did Marlon Brando reportedly say as he threw the novel?",
        "What did the tycoon say his father scolded him for?",
        "Who did the coach say would lead the side?",
        "How did MSPs vote on the casino bill?",
        "Who said that?",
        "How did",
    ],
)
def test_everything_else_is_a_plain_question(question: str) -> None:
    assert read_intent(question).kind == "plain"
